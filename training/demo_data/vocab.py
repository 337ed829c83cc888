"""Vocabulary of the bundled demo data: per category, product types, attribute values, brands, prices and
the ways shoppers in that category talk about what they want.

Data only (no logic); `training/demo_data/catalog.py` and `training/demo_data/dialogues.py` read it.
Categories differ in HOW users talk, not only in nouns: apparel shoppers talk about occasions and looks,
shoes shoppers about feet and mileage, home shoppers about rooms and households, electronics shoppers
about specs and use-cases, beauty shoppers about skin concerns and feelings.

Each category entry:
    prefix       product id prefix (`app` -> `app-0001`)
    brands       invented brand names; lines: model-line words used in titles
    types        type -> {"price": (lo, hi), "plural": bool, "attrs": {attribute: [values]}}
    labels       attribute -> how people call it ("battery life")
    say          attribute -> user templates stating a wanted value `{v}`
    indirect     attribute -> value -> user phrasings that imply the value without naming it
    ask          attribute -> user question templates about a shown product `{ref}`
    openers      user templates opening a request for a type `{t}` (with article)
    context      category-flavoured remarks that add colour but no constraint
    elicit       assistant questions: "budget", "type", and the attribute names worth asking about
    key_attrs    attributes the assistant asks about first when eliciting
    picks        category-flavoured ways to choose a shown product `{ref}`
"""

from __future__ import annotations

# The words shoppers use for each category (routing); the demo's vocabulary.json (`generate.demo_vocabulary`).
# What the assistant calls each demo category ("a shopping guide for clothing"): the shop's words, written into the
# demo's vocabulary.json (`wording`) and read from there by training and serving alike.
WORDING: dict[str, str] = {
    "apparel": "clothing",
    "shoes": "shoes",
    "home": "home goods",
    "electronics": "electronics",
    "beauty": "beauty products",
}

SYNONYMS: dict[str, list[str]] = {
    "apparel": ["apparel", "clothes", "clothing", "outfit", "wear", "garment"],
    "shoes": ["shoes", "shoe", "footwear", "sneakers", "boots"],
    "home": ["furniture", "kitchen", "decor", "household", "home goods"],  # bare "home" is too common ("for home")
    "electronics": ["electronics", "electronic", "gadget", "gadgets", "device", "tech"],
    "beauty": ["beauty", "makeup", "cosmetics", "skincare", "skin care"],
}

# phrases shoppers use for a catalog value ("fragrance-free" for scent: unscented); they read as the value
VALUE_SYNONYMS: dict[str, dict[str, dict[str, str]]] = {
    "beauty": {
        "scent": {
            p: "unscented"
            for p in ("fragrance free", "fragrance-free", "scent free", "scent-free", "no scent", "without fragrance")
        }
    },
    "electronics": {
        "noise cancelling": {
            p: "active" for p in ("noise cancelling", "noise-cancelling", "noise canceling", "noise-canceling", "anc")
        }
    },
}

COLORS = ["black", "white", "navy", "grey", "olive", "burgundy", "beige", "red", "blue", "green"]

CATEGORIES: dict[str, dict] = {
    "apparel": {
        "prefix": "app",
        "brands": [
            "Northwind",
            "Urban Fable",
            "Loomcraft",
            "Alder & Co",
            "Seabright",
            "Kestrel",
            "Marlowe",
            "Tidewell",
        ],
        "lines": [
            "Aria",
            "Harbor",
            "Everyday",
            "Summit",
            "Metro",
            "Coast",
            "Heritage",
            "Nova",
            "Linden",
            "Ridge",
            "Atlas",
            "Breeze",
            "Crest",
            "Drift",
            "Echo",
            "Field",
            "Grove",
            "Haven",
        ],
        "types": {
            "t-shirt": {
                "price": (12, 45),
                "attrs": {
                    "material": ["cotton", "linen", "polyester", "organic cotton"],
                    "fit": ["slim", "regular", "relaxed", "oversized"],
                    "occasion": ["casual", "workout", "everyday"],
                },
            },
            "shirt": {
                "price": (25, 90),
                "attrs": {
                    "material": ["cotton", "linen", "silk", "polyester"],
                    "fit": ["slim", "regular", "relaxed"],
                    "occasion": ["office", "casual", "party", "wedding"],
                },
            },
            "jacket": {
                "price": (60, 260),
                "attrs": {
                    "material": ["denim", "wool", "polyester", "leather", "nylon"],
                    "fit": ["slim", "regular", "relaxed"],
                    "occasion": ["casual", "outdoor", "office", "travel"],
                },
            },
            "dress": {
                "price": (35, 220),
                "attrs": {
                    "material": ["cotton", "silk", "linen", "polyester", "viscose"],
                    "fit": ["slim", "regular", "relaxed"],
                    "occasion": ["party", "wedding", "office", "casual"],
                },
            },
            "jeans": {
                "plural": True,
                "price": (40, 150),
                "attrs": {
                    "material": ["denim", "stretch denim"],
                    "fit": ["skinny", "slim", "straight", "relaxed"],
                    "occasion": ["casual", "everyday"],
                },
            },
            "sweater": {
                "price": (40, 180),
                "attrs": {
                    "material": ["wool", "cashmere", "cotton", "merino wool"],
                    "fit": ["regular", "relaxed", "oversized"],
                    "occasion": ["casual", "office", "travel"],
                },
            },
            "hoodie": {
                "price": (30, 110),
                "attrs": {
                    "material": ["cotton", "fleece", "polyester"],
                    "fit": ["regular", "relaxed", "oversized"],
                    "occasion": ["casual", "workout", "everyday"],
                },
            },
            "coat": {
                "price": (90, 400),
                "attrs": {
                    "material": ["wool", "down", "polyester", "cashmere"],
                    "fit": ["regular", "relaxed", "slim"],
                    "occasion": ["office", "outdoor", "casual", "travel"],
                },
            },
            "skirt": {
                "price": (25, 120),
                "attrs": {
                    "material": ["cotton", "denim", "linen", "polyester"],
                    "fit": ["slim", "regular", "relaxed"],
                    "occasion": ["office", "casual", "party"],
                },
            },
            "shorts": {
                "plural": True,
                "price": (18, 70),
                "attrs": {
                    "material": ["cotton", "linen", "denim", "polyester"],
                    "fit": ["slim", "regular", "relaxed"],
                    "occasion": ["casual", "workout", "travel"],
                },
            },
        },
        "common": {"color": COLORS, "size": ["XS", "S", "M", "L", "XL", "XXL"]},
        "labels": {"color": "color", "size": "size", "material": "material", "fit": "fit", "occasion": "occasion"},
        "say": {
            "color": [
                "in {v}",
                "something {v}",
                "{v} would be nice",
                "preferably {v}",
                "the color should be {v}",
                "I'd like it in {v}",
                "{v} color",
            ],
            "size": ["size {v}", "in a {v}", "I wear a {v}", "I'm usually a {v}", "it needs to come in {v}"],
            "material": ["made of {v}", "in {v}", "{v} please", "I prefer {v}", "something {v}"],
            "fit": ["a {v} fit", "{v} fit please", "I like a {v} cut", "{v}-fitting"],
            "occasion": ["for {v} wear", "something I can wear for {v}", "for {v}", "{v} style"],
        },
        "indirect": {
            "occasion": {
                "wedding": ["I've got a wedding to go to", "it's for my cousin's wedding"],
                "office": ["something I can wear to work", "for the office, business casual", "for meetings at work"],
                "party": ["for a night out", "something to wear to a party this weekend"],
                "workout": ["for the gym", "to work out in"],
                "outdoor": ["for hiking and being outside", "for weekends outdoors"],
                "travel": ["for a trip I'm taking", "for traveling"],
            },
            "fit": {
                "oversized": ["I like things baggy", "loose and oversized"],
                "slim": ["fitted, not baggy", "something that hugs a bit"],
                "relaxed": ["nothing tight", "loose and comfy"],
            },
        },
        "ask": {
            "color": ["what color is {ref}?", "which colour does {ref} come in?"],
            "size": ["what size is {ref}?", "is {ref} available in my size, what size is it?"],
            "material": ["what's {ref} made of?", "what fabric is {ref}?", "is {ref} cotton or what?"],
            "fit": ["how does {ref} fit?", "is {ref} slim or loose?", "what's the fit like on {ref}?"],
            "occasion": ["would {ref} work for the office?", "what is {ref} meant for, occasion-wise?"],
        },
        "openers": [
            "I'm looking for {t}",
            "hi, I need {t}",
            "can you help me find {t}?",
            "I want to buy {t}",
            "shopping for {t} today",
            "do you have {t}?",
            "I need {t} asap",
            "looking for {t} to wear",
            "hey! trying to find {t}",
            "I'd like {t}",
        ],
        "context": [
            "my old one finally wore out.",
            "it's a gift for my brother.",
            "I want to refresh my wardrobe.",
            "I care a lot about how it looks.",
            "it should be comfortable too.",
            "I hate ironing.",
            "it's getting colder here.",
        ],
        "picks": [
            "I think {ref} will look great, I'll take it",
            "{ref} is so cute, ordering it",
            "love {ref}, adding it to my cart",
            "{ref} matches my style, I'll get it",
        ],
        "key_attrs": ["occasion", "size", "color"],
    },
    "shoes": {
        "prefix": "sho",
        "brands": ["Stridewell", "Peakline", "Solemate", "Trailborn", "Copperfield", "Vantage", "Runwise", "Ellery"],
        "lines": [
            "Glide",
            "Pace",
            "Terra",
            "Flow",
            "Apex",
            "Cloud",
            "Rover",
            "Tempo",
            "Drift",
            "Ridge",
            "Swift",
            "Cove",
            "Mesa",
            "Pulse",
            "Haven",
            "Arc",
        ],
        "types": {
            "running shoes": {
                "plural": True,
                "price": (60, 200),
                "attrs": {
                    "material": ["mesh", "knit", "synthetic"],
                    "cushioning": ["light", "moderate", "maximum"],
                    "activity": ["road running", "trail running", "gym"],
                },
            },
            "sneakers": {
                "plural": True,
                "price": (45, 160),
                "attrs": {
                    "material": ["leather", "canvas", "suede", "knit"],
                    "cushioning": ["light", "moderate"],
                    "activity": ["everyday", "walking", "gym"],
                },
            },
            "hiking boots": {
                "plural": True,
                "price": (90, 260),
                "attrs": {
                    "material": ["leather", "suede", "synthetic"],
                    "cushioning": ["moderate", "maximum"],
                    "activity": ["hiking", "trail running", "walking"],
                },
            },
            "boots": {
                "plural": True,
                "price": (80, 300),
                "attrs": {
                    "material": ["leather", "suede"],
                    "cushioning": ["light", "moderate"],
                    "activity": ["everyday", "formal", "walking"],
                },
            },
            "sandals": {
                "plural": True,
                "price": (25, 110),
                "attrs": {
                    "material": ["leather", "synthetic", "cork"],
                    "cushioning": ["light", "moderate"],
                    "activity": ["everyday", "walking", "beach"],
                },
            },
            "loafers": {
                "plural": True,
                "price": (60, 220),
                "attrs": {
                    "material": ["leather", "suede"],
                    "cushioning": ["light", "moderate"],
                    "activity": ["formal", "everyday"],
                },
            },
            "slippers": {
                "plural": True,
                "price": (20, 80),
                "attrs": {
                    "material": ["wool", "suede", "fleece"],
                    "cushioning": ["light", "moderate"],
                    "activity": ["home"],
                },
            },
        },
        "common": {
            "color": ["black", "white", "grey", "navy", "brown", "tan", "red", "blue"],
            "size": ["US 6", "US 7", "US 8", "US 9", "US 10", "US 11", "US 12"],
            "width": ["narrow", "standard", "wide"],
        },
        "labels": {
            "color": "color",
            "size": "size",
            "width": "width",
            "material": "material",
            "cushioning": "cushioning",
            "activity": "activity",
        },
        "say": {
            "color": ["in {v}", "{v} ones", "preferably {v}", "I'd like {v}"],
            "size": ["{v}", "size {v}", "I'm a {v}", "I wear {v}"],
            "width": ["{v} width", "in {v} width", "they need to be {v}"],
            "material": ["{v}", "made of {v}", "{v} upper please", "I'd prefer {v}"],
            "cushioning": ["{v} cushioning", "with {v} cushioning", "{v} cushion"],
            "activity": ["for {v}", "mainly for {v}", "I'll use them for {v}"],
        },
        "indirect": {
            "width": {
                "wide": ["I have wide feet", "my feet are pretty wide and most shoes pinch"],
                "narrow": ["my feet are narrow and I slip out of most shoes"],
            },
            "cushioning": {
                "maximum": [
                    "my knees hurt after long runs so I want lots of cushion",
                    "as much cushioning as possible, I have plantar fasciitis",
                ],
                "light": ["I like feeling the ground, nothing too squishy"],
            },
            "activity": {
                "road running": ["I run about 30 km a week on pavement", "training for a half marathon"],
                "trail running": ["I run on muddy trails", "for running in the woods"],
                "hiking": ["for long hikes in the mountains", "I'm doing a multi-day trek"],
                "formal": ["for work, I wear suits", "something dressy for events"],
                "walking": ["I walk a lot in the city", "for my daily walks"],
            },
        },
        "ask": {
            "color": ["what color are {ref}?", "which colour is {ref}?"],
            "size": ["what size is {ref}?", "do you have {ref} in my size? which size is it"],
            "width": ["how wide are {ref}?", "are {ref} wide enough, what width?"],
            "material": ["what are {ref} made of?", "is {ref} leather?"],
            "cushioning": ["how much cushioning do {ref} have?", "are {ref} cushioned?"],
            "activity": ["what are {ref} best for?", "could I run in {ref}?"],
        },
        "openers": [
            "I'm looking for {t}",
            "I need {t}",
            "can you recommend {t}?",
            "looking to buy {t}",
            "my feet need {t}",
            "hey, any good {T}?",
            "I want {t}",
            "shopping for {t}",
        ],
        "context": [
            "my current pair is falling apart.",
            "I'm on my feet all day.",
            "comfort matters most to me.",
            "I've had blisters with my last pair.",
            "I usually buy half a size up.",
        ],
        "picks": [
            "{ref} sound comfy, I'll take them",
            "I'll try {ref}, hope my feet agree",
            "ordering {ref} for my runs",
            "{ref} it is, my feet will thank me",
        ],
        "key_attrs": ["activity", "size", "width"],
    },
    "home": {
        "prefix": "hom",
        "brands": [
            "Hearthline",
            "Oak & Ember",
            "Nestwell",
            "Brightloft",
            "Casa Verde",
            "Fernhill",
            "Driftwood Home",
            "Lumen",
        ],
        "lines": [
            "Oslo",
            "Bergen",
            "Sierra",
            "Vale",
            "Harlow",
            "Juniper",
            "Monroe",
            "Aspen",
            "Bristol",
            "Cedar",
            "Dune",
            "Everly",
            "Fjord",
            "Kinsley",
            "Larkin",
            "Nordic",
        ],
        "types": {
            "sofa": {
                "price": (400, 1800),
                "attrs": {
                    "material": ["velvet", "linen", "leather", "boucle"],
                    "seats": ["2 seats", "3 seats", "4 seats"],
                },
            },
            "floor lamp": {
                "price": (40, 260),
                "attrs": {
                    "material": ["metal", "brass", "wood", "rattan"],
                    "bulb": ["LED included", "E26 bulb not included"],
                },
            },
            "rug": {
                "price": (60, 600),
                "attrs": {
                    "material": ["wool", "jute", "cotton", "polypropylene"],
                    "size": ["5x7 ft", "8x10 ft", "2x3 ft", "6x9 ft"],
                },
            },
            "bed frame": {
                "price": (200, 1200),
                "attrs": {
                    "material": ["oak", "walnut", "metal", "upholstered"],
                    "size": ["twin", "full", "queen", "king"],
                },
            },
            "dining table": {
                "price": (250, 1500),
                "attrs": {
                    "material": ["oak", "walnut", "glass", "marble"],
                    "seats": ["4 seats", "6 seats", "8 seats"],
                },
            },
            "office chair": {
                "price": (120, 700),
                "attrs": {
                    "material": ["mesh", "leather", "fabric"],
                    "lumbar support": ["adjustable", "fixed", "none"],
                },
            },
            "bookshelf": {
                "price": (80, 500),
                "attrs": {
                    "material": ["oak", "pine", "metal", "walnut"],
                    "shelves": ["3 shelves", "5 shelves", "6 shelves"],
                },
            },
            "curtains": {
                "plural": True,
                "price": (30, 180),
                "attrs": {
                    "material": ["linen", "velvet", "cotton", "polyester"],
                    "light control": ["blackout", "sheer", "light filtering"],
                },
            },
            "coffee table": {
                "price": (90, 700),
                "attrs": {
                    "material": ["oak", "glass", "marble", "walnut", "metal"],
                    "shape": ["round", "rectangular", "oval"],
                },
            },
        },
        "common": {
            "color": ["white", "black", "grey", "beige", "green", "navy", "natural", "terracotta"],
            "style": ["modern", "scandinavian", "rustic", "industrial", "mid-century", "boho"],
            "room": ["living room", "bedroom", "office", "dining room"],
        },
        "labels": {
            "color": "color",
            "style": "style",
            "room": "room",
            "material": "material",
            "seats": "seats",
            "bulb": "bulb",
            "size": "size",
            "lumbar support": "lumbar support",
            "shelves": "shelves",
            "light control": "light control",
            "shape": "shape",
        },
        "say": {
            "color": ["in {v}", "a {v} one", "{v} to match my walls", "preferably {v}"],
            "style": ["{v} style", "something {v}", "my place is very {v}", "with a {v} look"],
            "room": ["for the {v}", "it's going in my {v}", "for my {v}"],
            "material": ["in {v}", "made of {v}", "{v} if possible", "I love {v}"],
            "seats": ["with {v}", "{v}", "that has {v}"],
            "bulb": ["with {v}", "{v}"],
            "size": ["{v}", "in {v}", "size {v}"],
            "lumbar support": ["with {v} lumbar support", "{v} lumbar support"],
            "shelves": ["with {v}", "{v}"],
            "light control": ["{v}", "{v} ones", "they should be {v}"],
            "shape": ["a {v} one", "{v}", "{v} shape"],
        },
        "indirect": {
            "style": {
                "scandinavian": ["I like clean, light Nordic stuff", "minimal and light wood, very Scandi"],
                "rustic": ["farmhouse vibe", "warm, cozy, a bit rustic cabin-like"],
                "industrial": ["my loft has exposed brick and steel"],
                "mid-century": ["I'm into the sixties look"],
            },
            "light control": {
                "blackout": ["I work nights and need the room dark", "the street light keeps me up"],
                "sheer": ["I want lots of daylight to come through"],
            },
            "seats": {
                "4 seats": ["we have guests over a lot"],
                "2 seats": ["my apartment is tiny"],
                "6 seats": ["we're a family of six"],
            },
            "lumbar support": {"adjustable": ["my lower back hurts after a long day at the desk"]},
        },
        "ask": {
            "color": ["what color is {ref}?", "what's the colour of {ref}?"],
            "style": ["what style is {ref}?", "would {ref} fit a modern room?"],
            "room": ["which room is {ref} meant for?", "is {ref} good for a bedroom?"],
            "material": ["what is {ref} made of?", "is {ref} real wood?", "what material is {ref}?"],
            "seats": ["how many people does {ref} seat?", "how many seats does {ref} have?"],
            "bulb": ["does {ref} come with a bulb?"],
            "size": ["what size is {ref}?", "how big is {ref}?"],
            "lumbar support": ["does {ref} have lumbar support?", "what's the back support like on {ref}?"],
            "shelves": ["how many shelves does {ref} have?"],
            "light control": ["do {ref} block light?", "how much light gets through {ref}?"],
            "shape": ["what shape is {ref}?", "is {ref} round?"],
        },
        "openers": [
            "I'm looking for {t}",
            "we need {t}",
            "I'm furnishing a new place and need {t}",
            "can you help me pick {t}?",
            "looking for {t} for our home",
            "hi, I want {t}",
            "what do you have in {T}s?",
            "I'm redoing a room and need {t}",
        ],
        "context": [
            "we just moved.",
            "we have two cats, so nothing too delicate.",
            "I have a toddler at home.",
            "the room doesn't get much sun.",
            "I want it to last for years.",
            "my apartment is small.",
        ],
        "picks": [
            "{ref} will fit our living space nicely, ordering it",
            "let's go with {ref}, my partner will love it",
            "I'll take {ref}, it'll look great at home",
            "{ref} works for our place",
        ],
        "key_attrs": ["room", "style", "material"],
    },
    "electronics": {
        "prefix": "ele",
        "brands": ["Voltiq", "Nexar", "Lumora", "Orbis", "Kinetix", "Auralis", "Zentro", "Pixelon"],
        "lines": [
            "X1",
            "Pro 14",
            "Air",
            "Max",
            "Lite",
            "S7",
            "Edge",
            "Neo",
            "Ultra",
            "Core",
            "Flex",
            "One",
            "Prime",
            "Mini",
            "Z5",
            "Nova",
        ],
        "types": {
            "smartphone": {
                "price": (199, 1299),
                "attrs": {
                    "screen size": ["6.1 in", "6.4 in", "6.7 in"],
                    "storage": ["128 GB", "256 GB", "512 GB"],
                    "battery life": ["18 hours", "24 hours", "30 hours"],
                    "connectivity": ["5G", "4G LTE"],
                    "use": ["photography", "gaming", "everyday", "business"],
                },
            },
            "laptop": {
                "price": (449, 2499),
                "attrs": {
                    "screen size": ["13.3 in", "14 in", "15.6 in", "16 in"],
                    "storage": ["256 GB", "512 GB", "1 TB"],
                    "memory": ["8 GB RAM", "16 GB RAM", "32 GB RAM"],
                    "battery life": ["8 hours", "12 hours", "18 hours"],
                    "use": ["gaming", "business", "students", "video editing"],
                },
            },
            "tablet": {
                "price": (149, 1199),
                "attrs": {
                    "screen size": ["8.3 in", "10.9 in", "12.9 in"],
                    "storage": ["64 GB", "128 GB", "256 GB"],
                    "battery life": ["10 hours", "12 hours"],
                    "connectivity": ["Wi-Fi", "Wi-Fi + 5G"],
                    "use": ["drawing", "reading", "students", "streaming"],
                },
            },
            "headphones": {
                "plural": True,
                "price": (29, 449),
                "attrs": {
                    "battery life": ["20 hours", "30 hours", "40 hours"],
                    "connectivity": ["Bluetooth 5.3", "Bluetooth 5.0", "wired"],
                    "noise cancelling": ["active", "none"],
                    "use": ["travel", "gaming", "workout", "music"],
                },
            },
            "smartwatch": {
                "price": (99, 799),
                "attrs": {
                    "screen size": ["41 mm", "45 mm", "49 mm"],
                    "battery life": ["2 days", "7 days", "14 days"],
                    "connectivity": ["Bluetooth", "LTE"],
                    "use": ["fitness", "running", "everyday", "outdoor"],
                },
            },
            "bluetooth speaker": {
                "price": (25, 399),
                "attrs": {
                    "battery life": ["10 hours", "16 hours", "24 hours"],
                    "water resistance": ["IPX4", "IPX7", "none"],
                    "use": ["outdoor", "parties", "home", "travel"],
                },
            },
        },
        "common": {"color": ["black", "silver", "white", "space grey", "blue", "green"]},
        "labels": {
            "color": "color",
            "screen size": "screen size",
            "storage": "storage",
            "battery life": "battery life",
            "connectivity": "connectivity",
            "use": "intended use",
            "memory": "memory",
            "noise cancelling": "noise cancelling",
            "water resistance": "water resistance",
        },
        "say": {
            "color": ["in {v}", "{v} finish", "preferably {v}"],
            "screen size": ["a {v} screen", "{v} display", "screen around {v}", "with a {v} screen"],
            "storage": ["{v} of storage", "the {v} version", "{v} storage", "with {v}"],
            "battery life": [
                "{v} of battery",
                "battery life of {v}",
                "that lasts {v} on a charge",
                "{v} battery life",
            ],
            "connectivity": ["with {v}", "{v} support", "it has to have {v}"],
            "use": ["for {v}", "mostly for {v}", "mainly {v}", "I'll use it for {v}"],
            "memory": ["{v}", "with {v}", "at {v}"],
            "noise cancelling": ["{v} noise cancelling", "with {v} noise cancelling"],
            "water resistance": ["{v} rated", "with {v} water resistance", "{v}"],
        },
        "indirect": {
            "use": {
                "gaming": ["I play a lot of games, need it smooth at high fps", "mostly gaming tbh"],
                "video editing": ["I edit 4K video for my channel", "I do Premiere and DaVinci work"],
                "students": ["it's for college, notes and essays", "for my kid starting university"],
                "photography": ["the camera is the most important thing for me", "I take lots of photos of my kids"],
                "travel": ["I fly a lot for work", "for long flights"],
                "fitness": ["I want to track my workouts and heart rate"],
                "business": ["for work: email, calls, spreadsheets", "for meetings and docs all day"],
                "drawing": ["I'm an illustrator and want to sketch with a pen"],
                "parties": ["for parties, needs to be loud"],
                "workout": ["for the gym, they can't fall out"],
            },
            "noise cancelling": {"active": ["I need to block out noise on the train", "my office is super loud"]},
            "water resistance": {"IPX7": ["it will be by the pool and might get dunked"]},
            "battery life": {
                "30 hours": ["I hate charging every night"],
                "14 days": ["I hate charging every night"],
                "40 hours": ["I hate charging every night"],
            },
        },
        "ask": {
            "color": ["what colors does {ref} come in?", "what color is {ref}?"],
            "screen size": ["how big is the screen on {ref}?", "what's the display size of {ref}?"],
            "storage": ["how much storage does {ref} have?", "is {ref} 256 or 512? storage?"],
            "battery life": ["what's the battery life on {ref}?", "how long does {ref} last on a charge?"],
            "connectivity": ["does {ref} have 5G? what connectivity?", "how does {ref} connect?"],
            "use": ["is {ref} good for gaming? what's it built for?", "what is {ref} designed for?"],
            "memory": ["how much RAM does {ref} have?", "memory on {ref}?"],
            "noise cancelling": ["does {ref} have noise cancelling?", "is {ref} ANC?"],
            "water resistance": ["is {ref} waterproof?", "what's the water rating of {ref}?"],
        },
        "openers": [
            "I'm looking for {t}",
            "I need {t}",
            "recommend me {t}",
            "what's a good {T}?",
            "looking to upgrade to {t}",
            "in the market for {t}",
            "specs question: I want {t}",
            "help me choose {t}",
            "which {T} should I get?",
        ],
        "context": [
            "my current one is 5 years old and slow.",
            "I care about specs more than looks.",
            "I read a lot of reviews but I'm confused.",
            "battery is always my pain point.",
            "I don't want to overpay for features I won't use.",
        ],
        "picks": [
            "specs on {ref} look solid, ordering it",
            "{ref} has what I need, I'll buy it",
            "ok {ref} is the best value for the specs, I'll get it",
            "going with {ref}, thanks for the breakdown",
        ],
        "key_attrs": ["use", "storage", "battery life"],
    },
    "beauty": {
        "prefix": "bea",
        "brands": [
            "Lumiere Lab",
            "Petal & Pine",
            "Dewdrop",
            "Verdance",
            "Halcyon Skin",
            "Rosewater Co",
            "Aurelia",
            "Pure Theory",
        ],
        "lines": [
            "Hydra",
            "Glow",
            "Calm",
            "Velvet",
            "Bloom",
            "Radiance",
            "Clear",
            "Silk",
            "Barrier",
            "Aqua",
            "Luxe",
            "Botanic",
            "Bright",
            "Soft Focus",
            "Renew",
            "Balance",
        ],
        "types": {
            "moisturizer": {
                "price": (12, 95),
                "attrs": {
                    "skin type": ["dry", "oily", "combination", "sensitive", "normal"],
                    "finish": ["dewy", "matte", "natural"],
                    "concern": ["hydration", "anti-aging", "redness", "acne"],
                    "volume": ["50 ml", "75 ml", "100 ml"],
                },
            },
            "serum": {
                "price": (15, 140),
                "attrs": {
                    "skin type": ["dry", "oily", "combination", "sensitive", "normal"],
                    "concern": ["dullness", "anti-aging", "acne", "hydration", "dark spots"],
                    "volume": ["30 ml", "50 ml"],
                },
            },
            "cleanser": {
                "price": (8, 45),
                "attrs": {
                    "skin type": ["dry", "oily", "combination", "sensitive", "normal"],
                    "concern": ["acne", "hydration", "redness"],
                    "volume": ["150 ml", "200 ml", "250 ml"],
                },
            },
            "foundation": {
                "price": (14, 70),
                "attrs": {
                    "skin type": ["dry", "oily", "combination", "normal"],
                    "finish": ["matte", "dewy", "satin", "natural"],
                    "shade": ["fair", "light", "medium", "tan", "deep"],
                    "volume": ["30 ml"],
                },
            },
            "sunscreen": {
                "price": (10, 55),
                "attrs": {
                    "skin type": ["sensitive", "oily", "dry", "normal"],
                    "finish": ["matte", "dewy", "invisible"],
                    "spf": ["SPF 30", "SPF 50"],
                    "volume": ["50 ml", "100 ml"],
                },
            },
            "lipstick": {
                "price": (9, 48),
                "attrs": {"finish": ["matte", "satin", "glossy"], "shade": ["nude", "red", "berry", "pink", "coral"]},
            },
            "perfume": {
                "price": (35, 220),
                "attrs": {
                    "scent": ["floral", "citrus", "vanilla", "woody", "fresh"],
                    "volume": ["30 ml", "50 ml", "100 ml"],
                    "intensity": ["eau de toilette", "eau de parfum"],
                },
            },
            "shampoo": {
                "price": (7, 48),
                "attrs": {
                    "hair type": ["curly", "fine", "oily", "dry", "color-treated"],
                    "volume": ["250 ml", "400 ml"],
                    "concern": ["frizz", "volume", "dandruff", "hydration"],
                },
            },
        },
        "common": {"scent": ["unscented", "floral", "citrus", "lavender", "fresh"]},
        "labels": {
            "skin type": "skin type",
            "finish": "finish",
            "concern": "concern",
            "volume": "size",
            "shade": "shade",
            "spf": "SPF",
            "scent": "scent",
            "intensity": "concentration",
            "hair type": "hair type",
        },
        "say": {
            "skin type": ["for {v} skin", "my skin is {v}", "I have {v} skin", "suited to {v} skin"],
            "finish": ["with a {v} finish", "{v} finish", "I like a {v} look"],
            "concern": ["for {v}", "that helps with {v}", "targeting {v}"],
            "volume": ["{v}", "the {v} size", "in {v}"],
            "shade": ["in {v}", "shade {v}", "a {v} shade"],
            "spf": ["{v}", "with {v}", "at least {v}"],
            "scent": ["{v}", "something {v}", "a {v} scent", "that smells {v}"],
            "intensity": ["{v}", "an {v}"],
            "hair type": ["for {v} hair", "my hair is {v}", "I have {v} hair"],
        },
        "indirect": {
            "skin type": {
                "dry": ["my skin feels tight and flaky after washing", "my face is so dry it itches"],
                "oily": ["I get really shiny by noon", "my T-zone is an oil slick by lunchtime"],
                "sensitive": ["everything stings my face", "my skin reacts to almost everything"],
                "combination": ["oily in the middle but dry on my cheeks"],
            },
            "concern": {
                "acne": [
                    "I keep breaking out around my chin",
                    "I've been getting spots again and it's killing my confidence",
                ],
                "anti-aging": ["I'm noticing fine lines and it's bugging me", "I want to look less tired"],
                "redness": ["my cheeks are always red and blotchy"],
                "dullness": ["my skin looks grey and tired lately", "I want my glow back"],
                "hydration": ["my skin feels thirsty all the time"],
                "frizz": ["my hair puffs up the second it's humid"],
                "dandruff": ["I've got flakes on my shoulders, so embarrassing"],
            },
            "finish": {"matte": ["I hate looking shiny in photos"], "dewy": ["I want that glowy, fresh look"]},
            "scent": {"unscented": ["fragrance makes my skin freak out", "no perfume please, it irritates me"]},
        },
        "ask": {
            "skin type": [
                "is {ref} okay for my skin type? which skin type is it for?",
                "what skin is {ref} made for?",
            ],
            "finish": ["what finish does {ref} have?", "is {ref} matte or dewy?"],
            "concern": ["what does {ref} actually help with?", "what's {ref} for?"],
            "volume": ["how big is {ref}?", "how much product is in {ref}?"],
            "shade": ["what shade is {ref}?"],
            "spf": ["what SPF is {ref}?"],
            "scent": ["does {ref} smell of anything?", "what does {ref} smell like?"],
            "intensity": ["is {ref} an eau de parfum?", "how strong is {ref}?"],
            "hair type": ["which hair type is {ref} for?"],
        },
        "openers": [
            "I'm looking for {t}",
            "hi! I need {t}",
            "can you suggest {t}?",
            "I want to try {t}",
            "I need help finding {t}",
            "my skin has been a mess, I want {t}",
            "any {T} you'd recommend?",
            "looking for {t} that actually works",
        ],
        "context": [
            "I've tried so many things and nothing works.",
            "I feel so self-conscious lately.",
            "I want something gentle.",
            "I'm new to skincare honestly.",
            "cruelty-free would be a bonus.",
            "I just want to feel good in my skin again.",
        ],
        "picks": [
            "I'll give {ref} a try, fingers crossed my skin likes it",
            "{ref} sounds gentle enough, I'll take it",
            "ok I'm excited to try {ref}!",
            "I think {ref} is the one, I feel good about it",
        ],
        "key_attrs": ["skin type", "concern", "finish"],
    },
}
