"""The ``secure-trail`` command line: ``main`` parses the arguments and runs one command;
``check_posture``, ``evidence`` and ``analytics_setup`` are commands of their own; the rest
is what they share (AWS options, the object-store reader, the text and JSON reports).
Not in the Lambda asset."""
