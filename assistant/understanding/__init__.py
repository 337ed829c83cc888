"""Reading the shopper: the catalog's vocabulary, the shopper's needs, the category a message is about and what
its last message asks. `reading.read_message` reads one message once into a `Reading` the turn acts on."""
