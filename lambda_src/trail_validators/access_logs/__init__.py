"""The access-log TLS auditor. Pure core: ``parser`` (S3 server access log lines),
``stream`` (records out of bounded chunks), ``audit`` (policy and findings). ``sources``:
where the objects come from (local files, S3)."""
