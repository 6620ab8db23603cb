package gitrepo

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Backup writes what restoring repository id needs while it may be
// receiving pushes: a bundle of every ref and the objects they reach, to
// the new file bundle, and the ref HEAD names, which it returns. A
// repository with no refs yet gets no bundle, and hasRefs is false.
//
// A bundle rather than a copy of the directory: git bundle reads the refs
// once and then packs exactly the objects reachable from those values, so
// the result is self-contained whatever happens meanwhile. receive-pack
// writes a push's objects before it moves a ref, so a ref read is never
// ahead of its objects; a push landing after the read is simply not in the
// backup; and a concurrent repack that deletes packs is harmless because
// git looks objects up again in the new packs. A file copy, by contrast,
// can miss a pack that repack replaced between listing and reading.
func (d *Dir) Backup(ctx context.Context, id int64, bundle string) (head string, hasRefs bool, err error) {
	dir := d.Path(id)
	// git runs inside the repository, so a relative path would land there.
	if bundle, err = filepath.Abs(bundle); err != nil {
		return "", false, err
	}
	out, err := d.command(ctx, dir, "symbolic-ref", "HEAD").Output()
	if err != nil {
		return "", false, fmt.Errorf("read HEAD of repository %d: %w", id, err)
	}
	head = strings.TrimSpace(string(out))
	out, err = d.command(ctx, dir, "for-each-ref", "--count=1", "--format=%(refname)").Output()
	if err != nil {
		return "", false, fmt.Errorf("list refs of repository %d: %w", id, err)
	}
	if len(bytes.TrimSpace(out)) == 0 {
		return head, false, nil
	}
	cmd := d.command(ctx, dir, "bundle", "create", "--quiet", bundle, "--all")
	var stderr tailBuffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return "", false, fmt.Errorf("bundle repository %d: %v: %s", id, err, bytes.TrimSpace(stderr.Bytes()))
	}
	return head, true, nil
}

// Restore creates repository id from a bundle that Backup wrote (bundle ""
// for a repository that had no refs), with HEAD naming head, and checks
// that every object the refs reach is present. It refuses to replace an
// existing repository, and it leaves nothing behind when it fails.
func (d *Dir) Restore(ctx context.Context, id int64, bundle, head string) error {
	if _, err := os.Lstat(d.Path(id)); err == nil {
		return fmt.Errorf("restore repository %d: it already exists", id)
	}
	if !strings.HasPrefix(head, "refs/heads/") {
		return fmt.Errorf("restore repository %d: HEAD %q is not a branch", id, head)
	}
	if bundle != "" {
		var err error
		if bundle, err = filepath.Abs(bundle); err != nil {
			return err
		}
	}
	tmp, err := d.Prepare(ctx, "main")
	if err != nil {
		return err
	}
	steps := [][]string{{"symbolic-ref", "HEAD", head}}
	if bundle != "" {
		steps = append(steps,
			[]string{"fetch", "--quiet", "--no-write-fetch-head", bundle, "+refs/*:refs/*"},
			[]string{"fsck", "--connectivity-only", "--no-progress", "--no-dangling"})
	}
	for _, args := range steps {
		cmd := d.command(ctx, tmp, args...)
		var output tailBuffer
		cmd.Stdout, cmd.Stderr = &output, &output
		if err := cmd.Run(); err != nil {
			d.Discard(tmp)
			return fmt.Errorf("restore repository %d: git %s: %v: %s", id, args[0], err, oneLine(output.Bytes()))
		}
	}
	if err := d.Commit(tmp, id); err != nil {
		d.Discard(tmp)
		return err
	}
	return nil
}

func oneLine(b []byte) string {
	return strings.Join(strings.Fields(string(b)), " ")
}
