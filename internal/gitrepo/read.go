package gitrepo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
)

// ErrNoBranch reports that a branch does not exist, which for a new
// repository means nothing has been pushed yet.
var ErrNoBranch = errors.New("gitrepo: branch does not exist")

// ErrTooLarge reports a blob larger than the caller's limit.
var ErrTooLarge = errors.New("gitrepo: file too large")

// Entry is one item of a tree listing.
type Entry struct {
	Name string
	// Type is "blob", "tree" or "commit" (a submodule).
	Type string
	Mode string
	Size int64 // -1 for trees and submodules
}

// branchRef turns a branch name into a full ref, refusing anything that is
// not a plain branch name, so that no argument can be taken for an option
// or reach outside refs/heads.
func branchRef(branch string) (string, error) {
	if branch == "" || strings.HasPrefix(branch, "-") || strings.Contains(branch, "..") ||
		strings.ContainsAny(branch, ":^~?*[\\ \t\n\x00") {
		return "", fmt.Errorf("gitrepo: invalid branch name %q", branch)
	}
	return "refs/heads/" + branch, nil
}

// Tree lists the top level of branch in repository id, directories first,
// then files, each sorted by name. A branch that does not exist yields
// ErrNoBranch.
func (d *Dir) Tree(ctx context.Context, id int64, branch string) ([]Entry, error) {
	ref, err := branchRef(branch)
	if err != nil {
		return nil, err
	}
	dir := d.Path(id)
	if d.command(ctx, dir, "rev-parse", "--verify", "--quiet", ref+"^{tree}").Run() != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, ErrNoBranch
	}
	var stderr tailBuffer
	cmd := d.command(ctx, dir, "ls-tree", "-z", "--long", ref)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("git ls-tree: %v: %s", err, bytes.TrimSpace(stderr.Bytes()))
	}
	return parseTree(out), nil
}

// parseTree reads "mode type oid size\tname" records separated by NUL.
func parseTree(out []byte) []Entry {
	var dirs, files []Entry
	for _, rec := range bytes.Split(out, []byte{0}) {
		meta, name, ok := bytes.Cut(rec, []byte{'\t'})
		if !ok {
			continue
		}
		f := strings.Fields(string(meta))
		if len(f) != 4 {
			continue
		}
		e := Entry{Name: string(name), Mode: f[0], Type: f[1], Size: -1}
		if f[1] == "blob" {
			fmt.Sscan(f[3], &e.Size)
			files = append(files, e)
		} else {
			dirs = append(dirs, e)
		}
	}
	return append(dirs, files...)
}

// ReadFile returns the content of the file at path (a top-level name from
// Tree) on branch, refusing files larger than max bytes with ErrTooLarge.
func (d *Dir) ReadFile(ctx context.Context, id int64, branch, path string, max int64) ([]byte, error) {
	ref, err := branchRef(branch)
	if err != nil {
		return nil, err
	}
	if path == "" || strings.ContainsAny(path, "\x00\n") {
		return nil, fmt.Errorf("gitrepo: invalid path %q", path)
	}
	dir := d.Path(id)
	obj := ref + ":" + path
	sizeOut, err := d.command(ctx, dir, "cat-file", "-s", obj).Output()
	if err != nil {
		return nil, fmt.Errorf("git cat-file -s: %w", err)
	}
	var size int64
	if _, err := fmt.Sscan(string(sizeOut), &size); err != nil {
		return nil, fmt.Errorf("git cat-file -s: %q: %w", sizeOut, err)
	}
	if size > max {
		return nil, ErrTooLarge
	}
	cmd := d.command(ctx, dir, "cat-file", "blob", obj)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	// The size was checked, but the ref can move between the two commands:
	// read at most max+1 bytes whatever happens.
	data, rerr := io.ReadAll(io.LimitReader(stdout, max+1))
	if int64(len(data)) > max {
		_ = cmd.Cancel()
		_ = cmd.Wait()
		return nil, ErrTooLarge
	}
	if err := cmd.Wait(); err != nil {
		return nil, fmt.Errorf("git cat-file blob: %w", err)
	}
	if rerr != nil {
		return nil, rerr
	}
	return data, nil
}
