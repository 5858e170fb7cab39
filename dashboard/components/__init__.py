"""Dashboard parts: each module owns its layout, registers its callbacks on the app (`register(app)`) and asks the
API (via api_client) for data; the client view's cards follow the contract in card.py, one module per card."""
