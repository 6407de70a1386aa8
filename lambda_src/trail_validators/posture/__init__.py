"""The posture watcher. Pure core: ``judge`` (an API call or an observed status in,
findings out; which calls weaken the trail is ``contract.weakening_calls``). Adapters:
``aws`` (what the scheduled check reads, the state of open conditions, StartLogging)."""
