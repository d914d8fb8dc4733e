"""English stop words: one list, and the wider one that topic phrases are cut with."""

from __future__ import annotations

ENGLISH_STOP_WORDS = frozenset(
    """
    a about above after again against all am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for
    from further had has have having he her here hers herself him himself his how i if in
    into is it its itself just me more most my myself no nor not now of off on once only or
    other our ours ourselves out over own same she should so some such than that the their
    theirs them themselves then there these they this those through to too under until up
    very was we were what when where which while who whom why will with would you your yours
    yourself
    """.split()
)

# Words too common or too vague to name a topic: the function words above and the rest of the
# Glasgow IR group's list as scikit-learn ships it (its ENGLISH_STOP_WORDS, "amoungst" and
# "fire", "bill", "interest", "system" included: themes and labels have always been cut with it).
TOPIC_STOP_WORDS = ENGLISH_STOP_WORDS | frozenset(
    """
    across afterwards almost alone along already also although always among amongst amoungst
    amount another anyhow anyone anything anyway anywhere around back became become becomes
    becoming beforehand behind beside besides beyond bill bottom call cannot cant co con couldnt
    cry de describe detail done due eg eight either eleven else elsewhere empty enough etc even
    ever every everyone everything everywhere except fifteen fifty fill find fire first five
    former formerly forty found four front full get give go hasnt hence hereafter hereby herein
    hereupon however hundred ie inc indeed interest keep last latter latterly least less ltd
    made many may meanwhile might mill mine moreover mostly move much must name namely neither
    never nevertheless next nine nobody none noone nothing nowhere often one onto others
    otherwise part per perhaps please put rather re see seem seemed seeming seems serious
    several show side since sincere six sixty somehow someone something sometime sometimes
    somewhere still system take ten thence thereafter thereby therefore therein thereupon thick
    thin third though three throughout thru thus together top toward towards twelve twenty two
    un upon us via well whatever whence whenever whereafter whereas whereby wherein whereupon
    wherever whether whither whoever whole whose within without yet yourselves
    """.split()
)
