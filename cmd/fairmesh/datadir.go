package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fairmesh/fairmesh"
)

// The data directory keeps the node's config registers across restarts, so
// that a mesh whose nodes all stop at once comes back with its config.
const (
	configFileName = "config.json"
	// lockFileName is held locked while a serve uses the directory.
	lockFileName = "lock"
	// tempPrefix names the files a save writes before renaming them over
	// the config file; one left by a crash is removed at the next start.
	tempPrefix = configFileName + ".tmp-"
	// maxConfigFileBytes bounds the file read at start: a million clients
	// with a weight and a limit each, IDs of ~100 bytes, take ~600 MB.
	maxConfigFileBytes = 1 << 30
	// saveInterval is the debounce of saves: a burst of updates costs one
	// write, and a change waits at most this long to reach the disk.
	saveInterval = time.Second
)

// defaultDataDir is where serve keeps its state unless told otherwise:
// /var/lib/fairmesh for root, else the XDG state directory.
func defaultDataDir(euid int, getenv func(string) string) string {
	if euid == 0 {
		return "/var/lib/fairmesh"
	}
	if d := getenv("XDG_STATE_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, "fairmesh")
	}
	if h := getenv("HOME"); h != "" {
		return filepath.Join(h, ".local", "state", "fairmesh")
	}
	return ""
}

// dataDir is serve's data directory. Its methods are called from one
// goroutine at a time: serve's, then the saver's.
type dataDir struct {
	dir  string
	path string   // the config file
	lock *os.File // nil where locks are not supported
	// beforeRename, when set, runs between writing the temp file and
	// renaming it: tests make it fail to stand for a crash.
	beforeRename func() error
}

// openDataDir creates dir (0700) if it is missing, locks it against
// another serve, and removes the temp files a crashed save left behind.
// Close releases the lock.
func openDataDir(dir string) (*dataDir, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	lock, err := lockDataDir(dir)
	if err != nil {
		return nil, err
	}
	d := &dataDir{dir: dir, path: filepath.Join(dir, configFileName), lock: lock}
	ents, err := os.ReadDir(dir)
	if err != nil {
		d.Close()
		return nil, fmt.Errorf("data directory: %w", err)
	}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), tempPrefix) {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
				d.Close()
				return nil, fmt.Errorf("data directory: removing a leftover temp file: %w", err)
			}
		}
	}
	return d, nil
}

// Close releases the directory's lock. The dataDir is not used after.
func (d *dataDir) Close() error {
	if d.lock == nil {
		return nil
	}
	return d.lock.Close()
}

// load reads the config file: none when there is no file yet. A file that
// does not decode is an error naming it, never an empty config: the
// operator fixes or removes it.
func (d *dataDir) load() ([]fairmesh.ConfigRegister, error) {
	f, err := os.Open(d.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err // names the file
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxConfigFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", d.path, err)
	}
	if len(data) > maxConfigFileBytes {
		return nil, fmt.Errorf("%s: larger than %d bytes", d.path, maxConfigFileBytes)
	}
	rs, err := fairmesh.DecodeConfigFile(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w (fix or remove the file)", d.path, err)
	}
	return rs, nil
}

// save replaces the config file with rs atomically: after a crash at any
// point the file holds either the old registers or the new ones, whole.
func (d *dataDir) save(rs []fairmesh.ConfigRegister) error {
	data, err := fairmesh.EncodeConfigFile(rs)
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(d.dir, tempPrefix+"*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	err = writeSync(f, data)
	if err == nil && d.beforeRename != nil {
		err = d.beforeRename()
	}
	if err == nil {
		err = os.Rename(tmp, d.path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("saving %s: %w", d.path, err)
	}
	// The rename is durable only once the directory is synced.
	if err := syncDir(d.dir); err != nil {
		return fmt.Errorf("saving %s: %w", d.path, err)
	}
	return nil
}

// writeSync writes data to f, syncs and closes it.
func writeSync(f *os.File, data []byte) error {
	_, err := f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	return errors.Join(err, f.Close())
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	return errors.Join(f.Sync(), f.Close())
}

// keep saves the node's registers whenever they changed, at most once per
// interval, until stop is closed; then it saves once more if anything
// changed, and returns that save's error. A failed save is logged and tried
// again at the next interval: the registers are still in memory and in the
// mesh. saved is the ConfigVersion the file already holds.
func (d *dataDir) keep(stop <-chan struct{}, n *fairmesh.Node, saved uint64, interval time.Duration, log *slog.Logger) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	saveIfChanged := func() error {
		v := n.ConfigVersion() // before the snapshot: see ConfigVersion
		if v == saved {
			return nil
		}
		if err := d.save(n.ConfigRegisters()); err != nil {
			return err
		}
		saved = v
		return nil
	}
	for {
		select {
		case <-stop:
			return saveIfChanged()
		case <-t.C:
			if err := saveIfChanged(); err != nil {
				log.Error("could not save the config; retrying", "err", err)
			}
		}
	}
}
