package gitrepo

import (
	"bytes"
	"context"
	"fmt"
)

// SetHead points HEAD of repository id at branch, which becomes the
// branch clones check out (the repository's default branch). The branch
// must exist: ErrNoBranch otherwise, an empty repository included. git
// symbolic-ref writes HEAD through a lock file and a rename, so readers
// see the old HEAD or the new one.
func (d *Dir) SetHead(ctx context.Context, id int64, branch string) error {
	ref, err := branchRef(branch)
	if err != nil {
		return err
	}
	dir := d.Path(id)
	if d.command(ctx, dir, "rev-parse", "--verify", "--quiet", ref+"^{commit}").Run() != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return ErrNoBranch
	}
	if out, err := d.command(ctx, dir, "symbolic-ref", "HEAD", ref).CombinedOutput(); err != nil {
		return fmt.Errorf("set HEAD: %v: %s", err, bytes.TrimSpace(out))
	}
	return nil
}
