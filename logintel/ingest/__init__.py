"""Getting events into logintel: file ingestion (`logintel.ingest.log_files`) and the service SDK (`Emitter`)."""


def __getattr__(name: str):
    # Lazy, so importing the file-ingestion modules does not start pulling in the SDK.
    if name in ("Emitter", "EmitterConfig", "LogHandler"):
        from logintel.ingest import emitter, emitter_config, log_handler
        return {"Emitter": emitter.Emitter, "EmitterConfig": emitter_config.EmitterConfig,
                "LogHandler": log_handler.LogHandler}[name]
    raise AttributeError(name)
