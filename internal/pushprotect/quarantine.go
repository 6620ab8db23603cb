package pushprotect

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// quarantineObjects calls fn with the id of every object in the object
// directory q: the loose objects (q/XX/YYYY…, which unpack-objects writes
// for a small push) and those of the packs (q/pack/*.idx, which index-pack
// keeps for a larger one). It reads the directory itself rather than run
// git (cat-file --batch-all-objects), which would cost a process on every
// push for a listing that is nearly always what rev-list already named.
// hexLen is the length of an id in hex: 40, or 64 for SHA-256.
func quarantineObjects(q string, hexLen int, fn func(oid string)) error {
	ents, err := os.ReadDir(q)
	if err != nil {
		return err
	}
	for _, e := range ents {
		name := e.Name()
		if !e.IsDir() || len(name) != 2 || !isHex(name) {
			continue
		}
		objs, err := os.ReadDir(filepath.Join(q, name))
		if err != nil {
			return err
		}
		for _, o := range objs {
			// Anything else is git's temporary file.
			if rest := o.Name(); len(rest) == hexLen-2 && isHex(rest) {
				fn(name + rest)
			}
		}
	}
	idxs, err := filepath.Glob(filepath.Join(q, "pack", "*.idx"))
	if err != nil {
		return err
	}
	for _, idx := range idxs {
		if err := packObjects(idx, hexLen/2, fn); err != nil {
			return fmt.Errorf("%s: %w", filepath.Base(idx), err)
		}
	}
	return nil
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// errIndex refuses a pack index this reader does not know: the scan must
// fail rather than miss the pack's objects.
var errIndex = errors.New("not a version 2 pack index")

// packObjects calls fn with the id of every object in the pack index at
// path (gitformat-pack(5), version 2: a header, 256 cumulative counts,
// then the sorted ids, then what locates them in the pack).
func packObjects(path string, idLen int, fn func(oid string)) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 64<<10)
	var hdr [8 + 256*4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return fmt.Errorf("%w: %v", errIndex, err)
	}
	if !bytes.Equal(hdr[:8], []byte{0xff, 't', 'O', 'c', 0, 0, 0, 2}) {
		return errIndex
	}
	n := binary.BigEndian.Uint32(hdr[len(hdr)-4:])
	if fi, err := f.Stat(); err != nil || int64(n)*int64(idLen) > fi.Size() {
		return fmt.Errorf("%w: %d objects", errIndex, n)
	}
	id := make([]byte, idLen)
	for range n {
		if _, err := io.ReadFull(r, id); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return fmt.Errorf("%w: truncated", errIndex)
			}
			return err
		}
		fn(hex.EncodeToString(id))
	}
	return nil
}
