"""Reading the shopper's reaction to a recommendation: "accept", "reject" or "neutral", with small rules.

    reaction("Great, I'll take it!")                   # "accept"
    reaction("No, I haven't. What is it about?")       # "neutral": a "no" that answers a question, then a question
    reaction("Too pricey, anything under $100?")       # "reject"

A bare word list misreads real replies ("no" in "No, I haven't. What is it about?", "not" in "Not bad, I'll order
it", "yes" in "Yes, what colours are there?"). The rules read clause by clause:

1. **Phrases that decide.** Acceptance: taking, buying, ordering or choosing it ("I'll take it", "go with",
   "add it to my cart", "that's the one"), approving it ("sounds good", "looks great", "perfect", "works for
   me", "I like / love it"). Rejection: declining it ("not for me", "I'll pass", "no thanks"), disliking it
   ("don't like", "not a fan", "hate"), a flaw ("too expensive", "over my budget", "doesn't have enough",
   "isn't waterproof"), or asking for something else ("show me others", "anything cheaper?", "something
   lighter", "another brand", "instead"). Negations that are not rejections ("not bad", "no worries", "not
   sure") are removed first; a phrase inside a condition ("if it's waterproof I'll take it") decides nothing.
2. **The last deciding clause wins** ("too pricey at first, but I'll take it anyway" accepts).
3. **Short answers.** With no deciding phrase: a reply that opens with yes / sure / ok and asks nothing
   accepts; one that opens with no / nope / nah and asks nothing rejects; everything else, questions
   included, is neutral.

Measured on `tests/assistant/data/reactions.jsonl` (159 replies we wrote and labelled, 53 per class; the rules were
tuned on the even lines only): accuracy in docs/eval.md, checked by tests/assistant/test_reactions.py.
"""

from __future__ import annotations

import re

_NOT_A_NO = re.compile(
    r"\b(?:not bad|not too bad|no worries|no problem|no rush|not sure|not yet|no doubt|not only|no idea|"
    r"why not|no matter)\b"
)
_ACCEPT = re.compile(
    r"\b(?:i'?ll (?:take|get|buy|order|go with|grab|have)|i will (?:take|get|buy|order|go with)|i'?m (?:going|gonna) "
    r"(?:to )?(?:buy|get|take|order|go with)|i(?:'d| would) like (?:to (?:buy|order|get|take) )?(?:it|that|this|the)|"
    r"(?:let'?s|lets) (?:go with|do|order|get|buy)|go(?:ing)? with|go ahead|take it|buy it|buying|order(?:ing)? it|"
    r"ordering|purchase|add (?:it |that |the \w+(?: \w+)? )?to (?:my )?cart|sold|that'?s (?:the one|it|exactly|"
    r"perfect|great)|the one i(?:'ll| will)? (?:want|get|take)|exactly what|sounds? (?:good|great|perfect|nice|"
    r"fine)|looks? (?:good|great|perfect|amazing|nice)|perfect|works for me|that works|will do|(?:i )?(?:like|love) "
    r"(?:it|that|this|the)|happy with|deal|definitely getting|great (?:choice|pick)|good pick|i'?m sold|"
    r"is fine|that one is fine|yes,? please|yep,? that'?s|grab (?:it|that|one|the)|give it a (?:try|go|shot)|"
    r"go for it|that'?ll do|that will do|fine by me|winner|"
    r"(?:add|adding|put|putting) (?:it |that |one )?(?:to|in|into) (?:my |the )?(?:cart|basket|bag)|checking out|"
    r"count me in|i'?m in|happy to go|convinced me|you convinced)\b"
)
_REJECT = re.compile(
    r"\b(?:not for me|(?:i'?ll|i will) pass|no,? thanks?|not interested|not (?:really )?my (?:style|taste|thing)|"
    r"(?:do ?n[o']?t|doesn'?t)(?: really| quite| much)? (?:like|want|love)|not a (?:big )?fan|hate|dislike|ugh|meh|"
    r"too (?:expensive|pricey|much|big|small|heavy|bulky|cheap|basic|formal|flashy|long|short|light|slow|loud|"
    r"wide|narrow|complicated)|over (?:my|the) budget|out of (?:my|the) budget|more than i want|can'?t afford|"
    r"(?:doesn'?t|does not|won'?t|will not|isn'?t|is not|aren'?t|don'?t) "
    r"(?:work|fit|suit|have enough|meet|seem right)|"
    r"(?:isn'?t|is not|not) (?:what i|quite|good enough|right for me|waterproof|comfortable)|not what i|"
    r"something (?:else|cheaper|lighter|smaller|bigger|simpler|different|more|with|without)|anything (?:else|nicer|"
    r"cheaper|under|lighter)|(?:other|different|newer|cheaper) (?:options|ones|models|brands|alternatives)|"
    r"(?:another|a different|a cheaper|a newer) (?:option|one|model|brand|alternative)|"
    r"show me (?:others|other|something|a different|newer|more)|instead|i'?d rather|i would rather|"
    r"(?:i'?d|i would) prefer|i prefer|neither|i was hoping for|i asked for|bad experiences?|outdated|worry me|"
    r"looks cheap|i need (?:more|something)|keep looking|not convinced|i already have|"
    r"don'?t think it'?s (?:right|for)|i don'?t think|too \w+|skip|look(?:ing)? elsewhere|shop elsewhere|"
    r"somewhere else|ugly|hideous|boring|flimsy|tacky|not (?:keen|crazy|sold|sure i like)|breaks|broke|unreliable|"
    r"poor quality|(?:reviews|ratings) (?:are|look|seem) (?:pretty |really |quite )?(?:bad|poor|terrible)|"
    r"a lot of money|expensive|pricey|(?:find|show|get|give) me (?:one|something|another|a)\b|"
    r"(?:one|something) (?:that'?s|that is|which is) |i said|not this|not for \w+|, no$)"
)
_CONDITION = re.compile(r"\b(?:if|unless|whether|would i|should i|maybe i)\b")
_YES = re.compile(r"^\W*(?:yes|yeah|yep|yup|sure|ok|okay|alright|absolutely|of course)\b")
_NO = re.compile(r"^\W*(?:no|nope|nah|not really)\b")


def _clauses(text: str) -> list[str]:
    return [c.strip() for c in re.split(r"[.!;\n]+|,\s*but\b|\bbut\b", text) if c.strip()]


def reaction(text: str) -> str:
    """ "accept", "reject" or "neutral" for the shopper's reply to a recommendation (see the module docstring)."""
    low = re.sub(r"[’`]", "'", text.lower())
    low = _NOT_A_NO.sub(" ", low)
    decision = None
    for clause in _clauses(low):
        if _CONDITION.search(clause):
            continue
        rej, acc = _REJECT.search(clause), _ACCEPT.search(clause)
        if rej and acc:  # an acceptance after the rejection wins; one inside it is negated ("don't like it")
            decision = "accept" if acc.start() >= rej.end() else "reject"
        elif rej:
            decision = "reject"
        elif acc and "?" not in clause[acc.end() :][:1] and not clause.rstrip().endswith("?"):
            decision = "accept"
    if decision is not None:
        return decision
    asks = "?" in low
    if _YES.search(low) and not asks:
        return "accept"
    if _NO.search(low) and not asks:
        return "reject"
    return "neutral"
