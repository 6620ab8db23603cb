"""Drives a Git server with libgit2, through pygit2, for e2e/clients.

    python3 libgit2.py ls
    python3 libgit2.py clone DEST
    python3 libgit2.py fetch DEST

The repository's URL, the user and the token come from the environment
(E2E_URL, E2E_USER, E2E_TOKEN), never from the command line. Each command
prints one JSON object on stdout; a libgit2 error is printed as
{"error": "..."} with exit status 2.
"""

import json
import os
import sys
import tempfile

import pygit2


class Callbacks(pygit2.RemoteCallbacks):
    """Offers the user and token (as the password) when the server asks
    for credentials, and collects the server's progress messages."""

    def __init__(self, user, token):
        super().__init__(credentials=pygit2.UserPass(user, token))
        self.progress = ""

    def sideband_progress(self, string):
        self.progress += string


def callbacks():
    return Callbacks(os.environ["E2E_USER"], os.environ["E2E_TOKEN"])


def refs_of(repo):
    """Every ref of repo: name -> object, or "ref: TARGET" when symbolic."""
    out = {}
    for name in repo.references:
        ref = repo.references[name]
        if ref.type == pygit2.GIT_REF_SYMBOLIC:
            out[name] = "ref: " + ref.target
        else:
            out[name] = str(ref.target)
    return out


def commits_of(repo, tips):
    """The number of commits reachable from tips (ids of commits or tags)."""
    seen = set()
    for tip in tips:
        commit = repo[tip].peel(pygit2.Commit)
        if str(commit.id) in seen:
            continue
        for c in repo.walk(commit.id, pygit2.GIT_SORT_NONE):
            seen.add(str(c.id))
    return len(seen)


def describe(repo, cb):
    refs = refs_of(repo)
    tips = [oid for oid in refs.values() if not oid.startswith("ref: ")]
    return {
        "bare": repo.is_bare,
        "head": str(repo.head.target),
        "head_ref": repo.head.name,
        "refs": refs,
        "commits": commits_of(repo, tips),
        "head_commits": commits_of(repo, [str(repo.head.target)]),
        "progress": cb.progress,
    }


def ls():
    with tempfile.TemporaryDirectory() as tmp:
        repo = pygit2.init_repository(tmp, bare=True)
        remote = repo.remotes.create("origin", os.environ["E2E_URL"])
        heads = remote.ls_remotes(callbacks=callbacks())
    refs, symrefs = {}, {}
    for h in heads:
        refs[h["name"]] = str(h["oid"])
        if h["symref_target"]:
            symrefs[h["name"]] = h["symref_target"]
    return {"refs": refs, "symrefs": symrefs}


def clone(dest):
    cb = callbacks()
    repo = pygit2.clone_repository(os.environ["E2E_URL"], dest, bare=True, callbacks=cb)
    return describe(repo, cb)


def fetch(dest):
    repo = pygit2.Repository(dest)
    cb = callbacks()
    stats = repo.remotes["origin"].fetch(callbacks=cb)
    out = describe(repo, cb)
    out["received_objects"] = stats.received_objects
    return out


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    try:
        if cmd == "ls":
            out = ls()
        elif cmd == "clone":
            out = clone(*args)
        elif cmd == "fetch":
            out = fetch(*args)
        else:
            sys.exit("unknown command " + cmd)
    except pygit2.GitError as e:
        json.dump({"error": str(e)}, sys.stdout)
        sys.exit(2)
    out["libgit2"] = pygit2.LIBGIT2_VERSION
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
