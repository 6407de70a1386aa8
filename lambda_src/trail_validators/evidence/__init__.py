"""The evidence report (``secure-trail evidence``, in ``cli.evidence``): for reviewers, every
control the synthesized cloud assembly (``cdk.out``) satisfies, with the resource and
property that satisfy it.

Command line only (never in the Lambda asset); standard library only. The parts:
``assembly`` reads ``cdk.out``, ``resources`` follows references inside templates,
``controls`` is the table of controls (data), ``checks`` reads the templates for each,
``report`` puts results together, ``compare`` diffs two synths, ``render_*`` write them.
"""
