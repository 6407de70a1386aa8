"""The trail's own resources: its key, the trail and access-log buckets, the trail, its
topics and its log group; each configured by keyword arguments."""
