"""Deploying over a restricted SSH key: the client side of the host agent.

Why a separate package: the deploy client (target.py, client.py), the
one-time host setup (setup.py plans it, setup_apply.py carries it out, setup_inputs.py
gathers its inputs) share one idea —
CI may ask the host agent for `deploy`, `rollback`, `status` or `history`
and nothing else — but none of them needs the build machinery. Everything
here computes plain data first (argv lists, setup steps, rendered files) and
runs it through the tools wrappers afterwards.
"""
