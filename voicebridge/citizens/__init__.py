"""The citizens' channels in the application: intake of their messages, what their
conversations do, the news sent back to them."""
