"""Platform adapters: each translates its platform's events into `core.incoming.Incoming`
and renders `core.messages.OutputMessage` back. The core never imports these."""
