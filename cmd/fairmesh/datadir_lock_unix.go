//go:build unix

package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// lockDataDir takes an exclusive lock on dir for as long as the returned
// file stays open: two nodes saving into one directory would each load the
// other's config at their next start. The kernel drops the lock when the
// process dies, so a crash leaves nothing to clean up.
func lockDataDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, lockFileName), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("data directory %s is in use by another fairmesh serve: give each node its own --data-dir", dir)
		}
		return nil, fmt.Errorf("data directory %s: locking: %w", dir, err)
	}
	return f, nil
}
