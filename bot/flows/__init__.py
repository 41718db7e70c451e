"""One module per conversation, each implementing the protocol in ``base.py`` (``Flow``):
``step(message, who, state, directory)`` → ``FlowResult(replies, new state, effects)``, pure.
``registry.py`` lists them; the router and the menu read it.
"""
