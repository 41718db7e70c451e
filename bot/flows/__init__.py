"""One module per conversation. A flow step is a plain function:
(message, who, state, directory) → FlowResult(replies, new state, effects).
"""
