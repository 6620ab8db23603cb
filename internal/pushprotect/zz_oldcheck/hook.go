package pushprotect

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// ErrRejected is returned by Hook.Run when the push must be refused; the
// reason has been written for the pusher.
var ErrRejected = errors.New("push rejected by push protection")

// Hook is git's pre-receive hook.
type Hook struct {
	Scanner Scanner
	// Guard returns the guard that checks candidates against the store.
	// It is called only when the scan found a candidate, so that a push
	// without one never touches the database.
	Guard func(ctx context.Context) (*Guard, error)
	Push  Push
}

// Run reads the updates git gives the hook on stdin, scans them in the
// repository git describes through dir and env, and writes to w what the
// pusher should read (git prefixes each line with "remote:"). It returns
// ErrRejected when a live token was found (and revoked) or when the push
// could not be checked: a check that fails must not let a secret through.
func (h *Hook) Run(ctx context.Context, dir string, env []string, stdin io.Reader, w io.Writer) error {
	updates, err := ParseUpdates(stdin)
	if err != nil {
		return h.fail(w, err)
	}
	findings, st, err := h.Scanner.Scan(ctx, dir, env, updates)
	if err != nil {
		return h.fail(w, err)
	}
	if st.Incomplete {
		// Fail closed: letting the unchecked rest through would make a
		// large enough push a way around the check.
		fmt.Fprintf(w, "error: this push is too large for push protection to check (stopped after %d objects, %d MiB in %v).\n"+
			"Push it in smaller parts, e.g. older commits first: git push origin <commit>:refs/heads/<branch>\n",
			st.Objects, st.Bytes>>20, st.Duration.Round(time.Second))
		return ErrRejected
	}
	if len(findings) == 0 {
		return nil
	}
	g, err := h.Guard(ctx)
	if err != nil {
		return h.fail(w, err)
	}
	leaks, err := g.Live(ctx, findings)
	if err != nil {
		return h.fail(w, err)
	}
	if len(leaks) == 0 {
		return nil
	}
	// The revocation must not depend on the client waiting for it.
	warnings, err := g.Handle(context.WithoutCancel(ctx), h.Push, leaks)
	if err != nil {
		return h.fail(w, err)
	}
	Report(w, leaks)
	for _, m := range warnings {
		fmt.Fprintf(w, "warning: %s.\n", m)
	}
	return ErrRejected
}

func (h *Hook) fail(w io.Writer, err error) error {
	id := ""
	if h.Push.RequestID != "" {
		id = " (request " + h.Push.RequestID + ")"
	}
	fmt.Fprintf(w, "error: push protection could not check this push%s: %v\nTry again; if this persists, tell the administrator.\n", id, err)
	return ErrRejected
}

// HookScript is the pre-receive script Install writes: it runs the
// gatehouse binary, which reads everything else from the environment the
// server gives git.
func HookScript(exe string) string {
	return "#!/bin/sh\n# Written by gatehouse serve at every start; edits are lost.\nexec " + shellQuote(exe) + " hook pre-receive\n"
}

// Install writes the pre-receive hook into dir (created if missing) for
// the gatehouse binary exe and returns dir, for git's core.hooksPath. The
// file is replaced atomically, so a push running meanwhile sees the old or
// the new script, never half of one.
func Install(dir, exe string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("create hooks dir: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".pre-receive-*")
	if err != nil {
		return "", fmt.Errorf("write pre-receive hook: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, werr := tmp.WriteString(HookScript(exe))
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr, os.Chmod(tmp.Name(), 0o755)); err != nil {
		return "", fmt.Errorf("write pre-receive hook: %w", err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, "pre-receive")); err != nil {
		return "", fmt.Errorf("write pre-receive hook: %w", err)
	}
	return dir, nil
}

// shellQuote quotes s for sh.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// The environment through which the server tells the hook about a push.
const (
	envRepo      = "GATEHOUSE_PUSH_REPO"
	envPusherID  = "GATEHOUSE_PUSH_USER_ID"
	envPusher    = "GATEHOUSE_PUSH_USER"
	envIP        = "GATEHOUSE_PUSH_IP"
	envRequestID = "GATEHOUSE_PUSH_REQUEST_ID"
)

// Env returns the environment entries that describe p to the hook.
func (p Push) Env() []string {
	return []string{
		envRepo + "=" + envSafe(p.Repo),
		envPusherID + "=" + strconv.FormatInt(p.PusherID, 10),
		envPusher + "=" + envSafe(p.Pusher),
		envIP + "=" + envSafe(p.IP),
		envRequestID + "=" + envSafe(p.RequestID),
	}
}

// PushFromEnv reads what Env wrote.
func PushFromEnv(getenv func(string) string) Push {
	id, _ := strconv.ParseInt(getenv(envPusherID), 10, 64)
	return Push{Repo: getenv(envRepo), PusherID: id, Pusher: getenv(envPusher), IP: getenv(envIP), RequestID: getenv(envRequestID)}
}

// envSafe keeps printable ASCII only: the values are names and addresses,
// and anything else could not pass through an environment or a terminal.
func envSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e {
			return -1
		}
		return r
	}, s)
}
