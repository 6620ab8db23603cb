package gitrepo

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Signature names the author and committer of a commit Gatehouse makes.
type Signature struct {
	Name, Email string
	When        time.Time
}

// InitialCommit creates the first commit of an empty repository id on
// branch, holding files (name → content, names without slashes), and
// returns its object id. The branch must not exist yet: the ref is created
// with an expected old value of "none", so a push that landed first is
// never overwritten (the call then fails).
//
// Plumbing only (hash-object, mktree, commit-tree, update-ref), run in the
// bare repository: no work tree, no hooks, no user configuration.
func (d *Dir) InitialCommit(ctx context.Context, id int64, branch string, files map[string][]byte, sig Signature, message string) (string, error) {
	dir := d.Path(id)
	names := make([]string, 0, len(files))
	for name := range files {
		if name == "" || strings.ContainsAny(name, "/\x00\n\t") || name == "." || name == ".." {
			return "", fmt.Errorf("initial commit: invalid file name %q", name)
		}
		names = append(names, name)
	}
	sort.Strings(names)
	var tree bytes.Buffer
	for _, name := range names {
		cmd := d.command(ctx, dir, "hash-object", "-w", "--stdin")
		cmd.Stdin = bytes.NewReader(files[name])
		out, err := cmd.Output()
		if err != nil {
			return "", fmt.Errorf("initial commit: hash %s: %w", name, err)
		}
		fmt.Fprintf(&tree, "100644 blob %s\t%s\n", strings.TrimSpace(string(out)), name)
	}
	cmd := d.command(ctx, dir, "mktree")
	cmd.Stdin = &tree
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("initial commit: mktree: %w", err)
	}
	treeID := strings.TrimSpace(string(out))

	when := sig.When
	if when.IsZero() {
		when = time.Now()
	}
	date := fmt.Sprintf("%d +0000", when.Unix())
	cmd = d.command(ctx, dir, "commit-tree", treeID)
	cmd.Env = append(cmd.Env,
		"GIT_AUTHOR_NAME="+sig.Name, "GIT_AUTHOR_EMAIL="+sig.Email, "GIT_AUTHOR_DATE="+date,
		"GIT_COMMITTER_NAME="+sig.Name, "GIT_COMMITTER_EMAIL="+sig.Email, "GIT_COMMITTER_DATE="+date)
	cmd.Stdin = strings.NewReader(message)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err = cmd.Output()
	if err != nil {
		return "", fmt.Errorf("initial commit: commit-tree: %v: %s", err, bytes.TrimSpace(stderr.Bytes()))
	}
	commit := strings.TrimSpace(string(out))
	// An all-zero old value means "the ref must not exist yet".
	zero := strings.Repeat("0", len(commit))
	if out, err := d.command(ctx, dir, "update-ref", "-m", "initial commit", "refs/heads/"+branch, commit, zero).CombinedOutput(); err != nil {
		return "", fmt.Errorf("initial commit: update-ref: %v: %s", err, bytes.TrimSpace(out))
	}
	return commit, nil
}
