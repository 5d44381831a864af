"""`tinyrepo serve`: a wsgiref server. No SIGTERM handler: like many small servers it only
knows Ctrl-C."""

import sys
from wsgiref.simple_server import make_server

from tinyrepo.config import get_parser


def make_app(health: str):
    def app(environ, start_response):
        path = environ.get("PATH_INFO", "/")
        if path == health:
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"ok"]
        if path == "/":
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"tinyrepo: no packages yet\n"]
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found"]
    return app


def main(argv=None):
    args = get_parser().parse_args(sys.argv[1:] if argv is None else argv)
    if args.cmd is None:
        print("tinyrepo: no command given; use `tinyrepo serve` (serving with the defaults)",
              file=sys.stderr)
        args = get_parser().parse_args(["serve"])
    if args.cmd != "serve":
        print("tinyrepo: nothing to check")
        return 0
    server = make_server(args.host, args.port, make_app(args.health_endpoint))
    print(f"tinyrepo: serving on http://{args.host}:{args.port}/", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("tinyrepo: interrupted, closing", file=sys.stderr, flush=True)
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
