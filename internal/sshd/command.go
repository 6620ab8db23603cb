package sshd

import (
	"errors"
	"strings"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/gitrepo"
)

// route is one line of the SSH route table: a command git runs over SSH,
// the git program that serves it and the repository action it needs, which
// the service's one authorization decision checks before git starts.
type route struct {
	command string
	service gitrepo.Service
	action  authz.Action
}

// routes is the route table of git over SSH. Nothing else runs.
var routes = []route{
	{"git-upload-pack", gitrepo.UploadPack, authz.Read},
	{"git-receive-pack", gitrepo.ReceivePack, authz.Write},
	{"git-upload-archive", gitrepo.UploadArchive, authz.Read},
}

// Command is a parsed SSH exec request: the git program and the repository.
type Command struct {
	Service     gitrepo.Service
	Owner, Name string
	action      authz.Action
}

// Errors of ParseCommand, whose text the client sees.
var (
	ErrNotGit  = errors.New("Gatehouse runs only git-upload-pack, git-receive-pack and git-upload-archive over SSH, and offers no shell.")
	ErrBadPath = errors.New("Invalid repository path: use OWNER/REPO.git, e.g. git@host:alice/project.git.")
	ErrTooLong = errors.New("The command is too long.")
)

// maxCommand bounds the command string: git's are a program and a path.
const maxCommand = 1024

// ParseCommand parses the command string of an SSH exec request as git
// sends it: a program of the route table and one argument, the repository
// path, which git puts in single quotes (a quote or "!" in it goes outside
// them, behind a backslash, as POSIX shells read it) and other clients may
// send bare. The path is OWNER/REPO with an optional ".git", and an
// optional leading "/" (ssh:// URLs) or "~/" (scp-like URLs relative to
// the home directory). Nothing is ever run by a shell; the parse only has
// to agree with what git meant. Errors: ErrNotGit, ErrBadPath, ErrTooLong.
func ParseCommand(s string) (Command, error) {
	if len(s) > maxCommand {
		return Command{}, ErrTooLong
	}
	prog, arg, ok := strings.Cut(strings.TrimLeft(s, " \t"), " ")
	var rt *route
	for i := range routes {
		if routes[i].command == prog {
			rt = &routes[i]
		}
	}
	if rt == nil {
		return Command{}, ErrNotGit
	}
	if !ok {
		return Command{}, ErrBadPath
	}
	path, err := shellWord(strings.Trim(arg, " \t"))
	if err != nil {
		return Command{}, err
	}
	owner, name, ok := repoPath(path)
	if !ok {
		return Command{}, ErrBadPath
	}
	return Command{Service: rt.service, Owner: owner, Name: name, action: rt.action}, nil
}

// shellWord reads s as exactly one POSIX shell word made of single-quoted
// strings, backslash escapes and plain characters: what git's sq_quote
// produces. Double quotes, variables, globs, separators and whitespace
// outside quotes are refused rather than interpreted.
func shellWord(s string) (string, error) {
	if s == "" {
		return "", ErrBadPath
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return "", ErrBadPath
			}
			b.WriteString(s[i+1 : i+1+j])
			i += j + 1
		case '\\':
			if i+1 == len(s) {
				return "", ErrBadPath
			}
			i++
			b.WriteByte(s[i])
		case ' ', '\t', '\n', '\r', '"', '`', '$', ';', '&', '|', '<', '>', '(', ')', '*', '?', '[', '#', '{', '}':
			return "", ErrBadPath
		default:
			if c < 0x20 || c == 0x7f {
				return "", ErrBadPath
			}
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

// repoPath splits a repository path into owner and name.
func repoPath(p string) (owner, name string, ok bool) {
	if rest, ok := strings.CutPrefix(p, "~/"); ok {
		p = rest
	} else {
		p = strings.TrimPrefix(p, "/")
	}
	owner, name, ok = strings.Cut(p, "/")
	if !ok {
		return "", "", false
	}
	if len(name) > 4 && strings.EqualFold(name[len(name)-4:], ".git") {
		name = name[:len(name)-4]
	}
	if !gatehouse.ValidLogin(owner) || !gatehouse.ValidRepoName(name) {
		return "", "", false
	}
	return owner, name, true
}
