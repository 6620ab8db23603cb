// Package gitrepo keeps bare Git repositories on disk and runs git's own
// upload-pack and receive-pack against them.
package gitrepo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Dir holds the bare repositories, one directory per repository named by
// its database ID ("42.git"), so that renames and odd names never touch
// paths.
type Dir struct {
	Root string
	// Git is the git executable (default "git" from PATH).
	Git string
	// Hooks, if set, is the directory receive-pack takes its hooks from
	// (core.hooksPath) instead of each repository's own, so that every
	// repository, old or new, runs the same pre-receive check and nothing
	// written into a repository can run as a hook.
	Hooks string
	// HookEnv is added to receive-pack's environment, which its hooks
	// inherit.
	HookEnv []string
	// MaxPushBytes refuses a push whose pack is larger (receive-pack's
	// receive.maxInputSize); 0 means DefaultMaxPushBytes, negative means
	// no limit.
	MaxPushBytes int64
	// PackCache, if set, serves fetches through the pack cache and bounds
	// the pack generations running at once (see packcache.go).
	PackCache *PackCache

	advOnce  sync.Once
	advState *advertiser // see advertise.go

	readsOnce sync.Once
	reads     chan struct{} // see readSlot in browse.go
}

// DefaultMaxPushBytes is the largest pack one push may send by default,
// as GitHub's 2 GiB.
const DefaultMaxPushBytes = 2 << 30

// receiveChecks are the receive-pack settings every push runs under:
// every object is checked as git fsck would (trees with ".." or ".git"
// entries, malformed commits and tags are refused, as GitHub refuses
// them) before any ref moves.
var receiveChecks = []string{"-c", "receive.fsckObjects=true", "-c", "transfer.fsckObjects=true"}

// Path returns where repository id lives.
func (d *Dir) Path(id int64) string {
	return filepath.Join(d.Root, strconv.FormatInt(id, 10)+".git")
}

func (d *Dir) git() string {
	if d.Git != "" {
		return d.Git
	}
	return "git"
}

// Prepare creates a new bare repository in a temporary directory beside the
// final place and returns its path. The caller inserts the database row and
// then calls Commit, or Discard on failure, so that a crash leaves at most
// an unreferenced temporary directory and never a row without a repository.
func (d *Dir) Prepare(ctx context.Context, defaultBranch string) (string, error) {
	if err := os.MkdirAll(d.Root, 0o700); err != nil {
		return "", fmt.Errorf("create repositories dir: %w", err)
	}
	tmp, err := os.MkdirTemp(d.Root, "new-*.tmp")
	if err != nil {
		return "", fmt.Errorf("create temporary repository: %w", err)
	}
	if defaultBranch == "" {
		defaultBranch = "main"
	}
	if out, err := d.command(ctx, "", "init", "--bare", "--quiet", "--initial-branch="+defaultBranch, tmp).CombinedOutput(); err != nil {
		os.RemoveAll(tmp)
		return "", fmt.Errorf("git init: %v: %s", err, bytes.TrimSpace(out))
	}
	for _, kv := range [][2]string{
		{"uploadpack.allowFilter", "true"},
		{"uploadpack.allowAnySHA1InWant", "true"},
		{"receive.advertisePushOptions", "true"},
		{"core.logAllRefUpdates", "false"},
	} {
		if out, err := d.command(ctx, tmp, "config", kv[0], kv[1]).CombinedOutput(); err != nil {
			os.RemoveAll(tmp)
			return "", fmt.Errorf("git config: %v: %s", err, bytes.TrimSpace(out))
		}
	}
	return tmp, nil
}

// Commit moves a prepared repository into place for id.
func (d *Dir) Commit(tmp string, id int64) error {
	if err := os.Rename(tmp, d.Path(id)); err != nil {
		return fmt.Errorf("move repository into place: %w", err)
	}
	return nil
}

// Discard removes a prepared repository that will not be used.
func (d *Dir) Discard(tmp string) { os.RemoveAll(tmp) }

// Remove deletes repository id from disk. It renames first so that a
// half-deleted repository is never served.
func (d *Dir) Remove(id int64) error {
	p := d.Path(id)
	trash := p + ".deleted-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	if err := os.Rename(p, trash); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("remove repository: %w", err)
	}
	return os.RemoveAll(trash)
}

// command builds a git command with a clean environment: no inherited GIT_*
// variables (they could point git at another repository), the user's global
// configuration ignored, and no terminal prompts.
func (d *Dir) command(ctx context.Context, dir string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, d.git(), args...)
	cmd.Dir = dir
	cmd.Env = cleanEnv()
	// On cancellation the process is killed; give its pipes a moment to
	// drain rather than waiting forever on a stuck reader.
	cmd.WaitDelay = 5 * time.Second
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error {
		// Kill the whole process group: pack-objects runs as a child.
		if cmd.Process != nil {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		}
		return nil
	}
	return cmd
}

func cleanEnv() []string {
	env := []string{"GIT_TERMINAL_PROMPT=0", "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null", "LC_ALL=C"}
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "PATH", "TMPDIR", "HOME":
			env = append(env, kv)
		}
	}
	return env
}

// Service names the two git programs a smart HTTP server runs.
type Service string

// The services.
const (
	UploadPack  Service = "upload-pack"
	ReceivePack Service = "receive-pack"
)

// RunOptions describes one run of a service.
type RunOptions struct {
	// Advertise produces the ref advertisement (GET info/refs) instead of
	// serving a request body.
	Advertise bool
	// Protocol is the client's Git-Protocol value, passed to git as
	// GIT_PROTOCOL; the caller must have validated it.
	Protocol string
	// Env is added to a receive-pack's environment (after Dir.HookEnv):
	// what the hooks should know about this push.
	Env    []string
	Stdin  io.Reader
	Stdout io.Writer
	// Request, if set, is the whole of Stdin, read by the caller: an
	// upload-pack answer to a clone request may then be kept for
	// ServeAnswer.
	Request []byte
}

// Run runs service for repository id with --stateless-rpc, streaming
// opts.Stdin to git and git's output to opts.Stdout without buffering the
// whole of either. The process is killed when ctx ends. A non-zero exit is
// returned with the tail of git's stderr.
func (d *Dir) Run(ctx context.Context, id int64, service Service, opts RunOptions) error {
	args := []string{string(service), "--stateless-rpc"}
	if opts.Advertise {
		args = append(args, "--advertise-refs")
	}
	args = append(args, ".")
	packHook := service == UploadPack && !opts.Advertise && d.PackCache.enabled()
	if packHook {
		args = append(d.uploadPackOptions(), args...)
	}
	hooks := service == ReceivePack && !opts.Advertise
	if hooks && d.Hooks != "" {
		args = append([]string{"-c", "core.hooksPath=" + d.Hooks}, args...)
	}
	if hooks {
		checks := append([]string{}, receiveChecks...)
		if max := d.maxPush(); max > 0 {
			checks = append(checks, "-c", "receive.maxInputSize="+strconv.FormatInt(max, 10))
		}
		args = append(checks, args...)
	}
	cmd := d.command(ctx, d.Path(id), args...)
	if opts.Protocol != "" {
		cmd.Env = append(cmd.Env, "GIT_PROTOCOL="+opts.Protocol)
	}
	if hooks {
		cmd.Env = append(append(cmd.Env, d.HookEnv...), opts.Env...)
	}
	stdout := opts.Stdout
	var packs *packRun
	succeeded := false
	if packHook {
		c := d.PackCache
		c.init(d)
		if rec := c.recordAnswer(absPath(d.Path(id)), d.uploadPackOptions(), opts.Protocol, opts.Request, stdout); rec != nil {
			stdout = rec
			kept := false
			defer func() { rec.finish(c, kept) }()
			// Kept when upload-pack succeeded and its one pack came
			// from the cache (see answer.go).
			defer func() {
				kept = packs != nil && packs.fromCacheOnly() && (succeeded || ctx.Err() != nil && rec.complete())
			}()
		}
	}
	cmd.Stdout = stdout
	if packHook {
		var err error
		if packs, err = d.PackCache.attach(ctx, d, cmd, d.Path(id), stdout, true); err != nil {
			return fmt.Errorf("git %s: %w", service, err)
		}
	}
	var out *outPipe
	var outTo io.Writer
	if w := cmd.Stdout; w != nil {
		if _, isFile := w.(*os.File); !isFile {
			var err error
			if out, err = newOutPipe(); err != nil {
				return fmt.Errorf("git %s: %w", service, err)
			}
			cmd.Stdout, outTo = out.w, w
		}
	}
	var stderr tailBuffer
	cmd.Stderr = &stderr
	// Feed stdin from our own goroutine rather than exec's: Wait would wait
	// for exec's copier, which may sit in a read of a stalled request body
	// long after git was killed. Ours ends when the body does, or at the
	// first write after git exits (Wait closes the pipe).
	var stdin io.WriteCloser
	if opts.Stdin != nil {
		var err error
		if stdin, err = cmd.StdinPipe(); err != nil {
			return fmt.Errorf("git %s: %w", service, err)
		}
	}
	err := cmd.Start()
	if out != nil {
		out.start(outTo)
	}
	if packs != nil {
		packs.started()
	}
	if err != nil {
		if out != nil {
			out.wait(0)
		}
		if packs != nil {
			packs.finish()
		}
		return fmt.Errorf("git %s: %w", service, err)
	}
	if stdin != nil {
		go func() {
			_, _ = io.Copy(stdin, opts.Stdin)
			stdin.Close()
		}()
	}
	err = cmd.Wait()
	if out != nil {
		// As exec's own copier: the answer is complete once the pipe is
		// at its end, and a write that failed fails the run.
		if werr := out.wait(cmd.WaitDelay); err == nil && werr != nil {
			err = werr
		}
	}
	if packs != nil {
		// A refused pack generation: upload-pack was stopped, and what it
		// had written was held back (see BusyError).
		if berr := packs.finish(); berr != nil {
			return fmt.Errorf("git %s: %w", service, berr)
		}
	}
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("git %s: %w", service, ctx.Err())
		}
		return fmt.Errorf("git %s: %v: %s", service, err, bytes.TrimSpace(stderr.Bytes()))
	}
	succeeded = true
	return nil
}

// uploadPackOptions are git's options for an upload-pack that serves a
// pack with a PackCache. They are part of a kept answer's key (answer.go):
// an option added here changes what upload-pack may answer, and so the
// keys.
func (d *Dir) uploadPackOptions() []string {
	return []string{"-c", packHookConfig}
}

// absPath is path made absolute, or path when it cannot be.
func absPath(path string) string {
	if abs, err := filepath.Abs(path); err == nil {
		return abs
	}
	return path
}

// Exists reports whether repository id is on disk.
func (d *Dir) Exists(id int64) bool {
	fi, err := os.Stat(d.Path(id))
	return err == nil && fi.IsDir()
}

// FixHead points HEAD at an existing branch when the branch it names does
// not exist, preferring main, then master, then the first branch, so that
// a first push of any branch gives clones a checkout. It returns the branch
// HEAD names afterwards ("" for an empty repository).
func (d *Dir) FixHead(ctx context.Context, id int64) (string, error) {
	dir := d.Path(id)
	out, err := d.command(ctx, dir, "symbolic-ref", "--short", "HEAD").Output()
	if err != nil {
		return "", fmt.Errorf("read HEAD: %w", err)
	}
	head := strings.TrimSpace(string(out))
	if d.command(ctx, dir, "rev-parse", "--verify", "--quiet", "refs/heads/"+head).Run() == nil {
		return head, nil
	}
	out, err = d.command(ctx, dir, "for-each-ref", "--format=%(refname:short)", "refs/heads/").Output()
	if err != nil {
		return "", fmt.Errorf("list branches: %w", err)
	}
	branches := strings.Fields(string(out))
	if len(branches) == 0 {
		return head, nil
	}
	pick := branches[0]
	for _, pref := range []string{"main", "master"} {
		for _, b := range branches {
			if b == pref {
				pick = b
				goto found
			}
		}
	}
found:
	if out, err := d.command(ctx, dir, "symbolic-ref", "HEAD", "refs/heads/"+pick).CombinedOutput(); err != nil {
		return "", fmt.Errorf("set HEAD: %v: %s", err, bytes.TrimSpace(out))
	}
	return pick, nil
}

// tailBuffer keeps the last 8 KiB written to it: enough to explain a
// failure without letting a chatty process grow memory.
type tailBuffer struct{ b []byte }

const tailMax = 8 << 10

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if len(t.b) > tailMax {
		t.b = append(t.b[:0], t.b[len(t.b)-tailMax:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) Bytes() []byte { return t.b }

// Refs returns every ref of repository id with the object it names, one
// "OBJECT REFNAME" line each, so that a caller can tell whether a push
// changed anything. It runs on every push, before and after: the refs are
// read from disk, and git runs only for a repository state that reading
// does not understand (see readRefFiles).
func (d *Dir) Refs(ctx context.Context, id int64) (string, error) {
	if st, err := readRefFiles(d.Path(id)); err == nil {
		var b strings.Builder
		for _, r := range st.refs {
			b.WriteString(r.oid + " " + r.name + "\n")
		}
		return b.String(), nil
	}
	out, err := d.command(ctx, d.Path(id), "for-each-ref", "--format=%(objectname) %(refname)").Output()
	if err != nil {
		return "", fmt.Errorf("list refs: %w", err)
	}
	return string(out), nil
}

func (d *Dir) maxPush() int64 {
	switch {
	case d.MaxPushBytes < 0:
		return 0
	case d.MaxPushBytes == 0:
		return DefaultMaxPushBytes
	}
	return d.MaxPushBytes
}
