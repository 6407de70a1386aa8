"""The trail-bucket watch: each object event under ``AWSLogs/`` judged within minutes
(``judge``: pure; ``aws``: the boto3 reads it needs)."""
