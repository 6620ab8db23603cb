package gitrepo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
)

// UploadArchive is git's upload-archive, behind git archive --remote. SSH
// offers it; smart HTTP has no such service.
const UploadArchive Service = "upload-archive"

// ServeOptions describes one run of a service over a full-duplex stream.
type ServeOptions struct {
	// Protocol is the client's GIT_PROTOCOL value ("version=2"); the
	// caller must have validated it.
	Protocol string
	// Env is added to a receive-pack's environment (after Dir.HookEnv), as
	// RunOptions.Env.
	Env []string
	// Stdin, Stdout and Stderr are the client's streams. What git writes
	// to Stderr is the client's to read ("fatal: …", hook output).
	Stdin          io.Reader
	Stdout, Stderr io.Writer
}

// Serve runs service for repository id in git's own full-duplex mode, as
// sshd runs it for a git client: git advertises and negotiates over one
// pair of streams, without --stateless-rpc. receive-pack takes its hooks
// from Dir.Hooks, as in Run. The process is killed when ctx ends.
//
// It returns git's exit status, and an error only when git could not be
// run at all or ctx ended; a non-zero status with a nil error is git
// refusing or failing in words it has already written to Stderr.
func (d *Dir) Serve(ctx context.Context, id int64, service Service, opts ServeOptions) (int, error) {
	switch service {
	case UploadPack, ReceivePack, UploadArchive:
	default:
		return -1, fmt.Errorf("git %s: not a service", service)
	}
	args := []string{string(service), "."}
	if service == ReceivePack && d.Hooks != "" {
		args = append([]string{"-c", "core.hooksPath=" + d.Hooks}, args...)
	}
	packHook := service == UploadPack && d.PackCache.enabled()
	if packHook {
		args = append([]string{"-c", packHookConfig}, args...)
	}
	cmd := d.command(ctx, d.Path(id), args...)
	if opts.Protocol != "" {
		cmd.Env = append(cmd.Env, "GIT_PROTOCOL="+opts.Protocol)
	}
	if service == ReceivePack {
		cmd.Env = append(append(cmd.Env, d.HookEnv...), opts.Env...)
	}
	cmd.Stdout = opts.Stdout
	var packs *packRun
	if packHook {
		// Not held back: over SSH a refusal goes to stderr, which git
		// shows whatever upload-pack has sent.
		var err error
		if packs, err = d.PackCache.attach(ctx, d, cmd, d.Path(id), opts.Stdout, false); err != nil {
			return -1, fmt.Errorf("git %s: %w", service, err)
		}
	}
	var tail tailBuffer
	cmd.Stderr = &tail
	if opts.Stderr != nil {
		cmd.Stderr = io.MultiWriter(opts.Stderr, &tail)
	}
	// Stdin is fed from our own goroutine, as in Run: exec's copier would
	// keep Wait waiting on a client that never sends EOF.
	var stdin io.WriteCloser
	if opts.Stdin != nil {
		var err error
		if stdin, err = cmd.StdinPipe(); err != nil {
			return -1, fmt.Errorf("git %s: %w", service, err)
		}
	}
	err := cmd.Start()
	if packs != nil {
		packs.started()
	}
	if err != nil {
		if packs != nil {
			packs.finish()
		}
		return -1, fmt.Errorf("git %s: %w", service, err)
	}
	if stdin != nil {
		go func() {
			_, _ = io.Copy(stdin, opts.Stdin)
			stdin.Close()
		}()
	}
	err = cmd.Wait()
	if packs != nil {
		if berr := packs.finish(); berr != nil {
			return -1, fmt.Errorf("git %s: %w", service, berr)
		}
	}
	if ctx.Err() != nil {
		return -1, fmt.Errorf("git %s: %w", service, ctx.Err())
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.Exited() {
		return ee.ExitCode(), nil
	}
	if err != nil {
		return -1, fmt.Errorf("git %s: %v: %s", service, err, bytes.TrimSpace(tail.Bytes()))
	}
	return 0, nil
}
