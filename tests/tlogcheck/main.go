// Command tlogcheck verifies Journey's proofs with code Journey did not write: Go's
// golang.org/x/mod/sumdb/note (signed notes, Ed25519 log signatures) and golang.org/x/mod/sumdb/tlog
// (RFC 6962 inclusion and consistency proofs, C2SP-style tiles), as Debian ships them
// (golang-golang-x-mod-dev). Witness cosignatures (c2sp.org/tlog-cosignature, cosignature/v1, type 0x04)
// are not in x/mod at any version; they are checked here by hand with crypto/ed25519.
//
// Every check ends against a signed root: x/mod's TileHashReader does not authenticate every tile it reads
// (for tree sizes with two or more bits set), so hashes read from tiles are believed only once
// tlog.CheckRecord or tlog.CheckTree accepts them against the checkpoint's signed root.
//
// Usage:
//
//	tlogcheck -log-vkey VKEY [-witness-vkey VKEY]... [-quorum N] checkpoint FILE
//	tlogcheck ... proof FILE           a c2sp.org/tlog-proof@v1 record proof (extra = the 64-byte entry)
//	tlogcheck ... consistency OLD LATER
//	                                   OLD: a signed checkpoint; LATER: "old <size>", the proof hashes, a
//	                                   blank line, a later signed checkpoint (the add-checkpoint body)
//	tlogcheck ... tiles CHECKPOINT DIR [INDEX]...
//	                                   the C2SP tiles under DIR (tile/<L>/<N>[.p/<W>], tile/entries/<N>...)
//	                                   give the checkpoint's root, and each INDEX's entry is in the tree
//
// Build offline (GOPATH mode, Debian's packages):
//
//	GO111MODULE=off GOPATH=/usr/share/gocode GOCACHE=$PWD/target/gocache go build -o tlogcheck main.go
//
// Exit status 0 when everything verifies, 1 on the first failure (printed as "FAIL: ..." on stderr), 2 on
// a usage error.
package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

type vkeys []string

func (v *vkeys) String() string     { return strings.Join(*v, ",") }
func (v *vkeys) Set(s string) error { *v = append(*v, s); return nil }

var (
	logVkey   = flag.String("log-vkey", "", "the log's verifier key (name+hex8+base64(0x01||key))")
	witnesses vkeys
	quorum    = flag.Int("quorum", 0, "how many distinct witnesses (of -witness-vkey) must have cosigned each checkpoint")
)

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "FAIL: "+format+"\n", args...)
	os.Exit(1)
}

func read(path string) []byte {
	b, err := os.ReadFile(path)
	if err != nil {
		fail("%v", err)
	}
	return b
}

// decimal parses a size or index: ASCII digits, no leading zeros.
func decimal(what, s string) int64 {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || strconv.FormatInt(n, 10) != s {
		fail("%s: %q is not a decimal without leading zeros", what, s)
	}
	return n
}

func hash(what, s string) tlog.Hash {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b) != tlog.HashSize || base64.StdEncoding.EncodeToString(b) != s {
		fail("%s: %q is not the base64 of a 32-byte hash", what, s)
	}
	var h tlog.Hash
	copy(h[:], b)
	return h
}

// witness is a cosignature/v1 verifier key.
type witness struct {
	name  string
	keyID uint32
	key   ed25519.PublicKey
}

func parseWitness(vkey string) witness {
	parts := strings.SplitN(vkey, "+", 3)
	if len(parts) != 3 {
		fail("witness vkey %q: expected name+hex8+base64", vkey)
	}
	raw, err := base64.StdEncoding.DecodeString(parts[2])
	if err != nil || len(raw) != 33 || raw[0] != 0x04 {
		fail("witness vkey %q: not a cosignature/v1 (0x04) Ed25519 key", vkey)
	}
	id := sha256.Sum256(append([]byte(parts[0]+"\n"), raw...))
	if fmt.Sprintf("%08x", id[:4]) != parts[1] {
		fail("witness vkey %q: the key ID does not match the name and key", vkey)
	}
	return witness{name: parts[0], keyID: binary.BigEndian.Uint32(id[:4]), key: ed25519.PublicKey(raw[1:])}
}

// tree is a verified checkpoint.
type tree struct {
	origin string
	size   int64
	root   tlog.Hash
}

// openCheckpoint verifies a signed checkpoint: the log's signature (x/mod note.Open), the body (origin =
// the log key's name, size, root; Journey's checkpoints have no extension lines), and the cosignatures of
// the configured witnesses, at least -quorum distinct ones, every line of a configured witness verifying.
func openCheckpoint(what string, msg []byte) tree {
	verifier, err := note.NewVerifier(*logVkey)
	if err != nil {
		fail("-log-vkey: %v", err)
	}
	n, err := note.Open(msg, note.VerifierList(verifier))
	if err != nil {
		fail("%s: the log's signature: %v", what, err)
	}
	lines := strings.Split(n.Text, "\n")
	if len(lines) != 4 || lines[3] != "" {
		fail("%s: a checkpoint is three lines: origin, size, root", what)
	}
	if lines[0] != verifier.Name() {
		fail("%s: origin %q is not the log key's name %q", what, lines[0], verifier.Name())
	}
	t := tree{origin: lines[0], size: decimal(what+" size", lines[1]), root: hash(what+" root", lines[2])}
	cosigned := map[string]int64{}
	for _, vkey := range witnesses {
		w := parseWitness(vkey)
		for _, sig := range n.UnverifiedSigs {
			if sig.Name != w.name || sig.Hash != w.keyID {
				continue
			}
			raw, err := base64.StdEncoding.DecodeString(sig.Base64)
			if err != nil || len(raw) != 4+8+ed25519.SignatureSize {
				fail("%s: cosignature of %s: not 4+8+64 bytes", what, w.name)
			}
			timestamp := binary.BigEndian.Uint64(raw[4:12])
			if timestamp > 1<<63-1 {
				fail("%s: cosignature of %s: timestamp out of range", what, w.name)
			}
			message := fmt.Sprintf("cosignature/v1\ntime %d\n%s", timestamp, n.Text)
			if !ed25519.Verify(w.key, []byte(message), raw[12:]) {
				fail("%s: the cosignature of %s does not verify", what, w.name)
			}
			cosigned[w.name] = int64(timestamp)
		}
	}
	if len(cosigned) < *quorum {
		fail("%s: cosigned by %d of the configured witnesses, %d needed", what, len(cosigned), *quorum)
	}
	fmt.Printf("ok  %s: %s size %d root %s, log signature and %d witness cosignature(s)\n",
		what, t.origin, t.size, t.root, len(cosigned))
	return t
}

// proof verifies a c2sp.org/tlog-proof@v1 record proof.
func proof(path string) {
	text := read(path)
	next := func(what string) string {
		i := bytes.IndexByte(text, '\n')
		if i < 0 {
			fail("%s: %s: missing", path, what)
		}
		line := string(text[:i])
		text = text[i+1:]
		return line
	}
	if next("header") != "c2sp.org/tlog-proof@v1" {
		fail("%s: not a c2sp.org/tlog-proof@v1", path)
	}
	line := next("index")
	var entry []byte
	if strings.HasPrefix(line, "extra ") {
		var err error
		entry, err = base64.StdEncoding.DecodeString(strings.TrimPrefix(line, "extra "))
		if err != nil {
			fail("%s: extra: %v", path, err)
		}
		line = next("index")
	}
	if entry == nil {
		fail("%s: Journey's proofs carry the entry as extra", path)
	}
	if !strings.HasPrefix(line, "index ") {
		fail("%s: expected index <decimal>", path)
	}
	index := decimal("index", strings.TrimPrefix(line, "index "))
	var inclusion tlog.RecordProof
	for {
		line := next("inclusion proof")
		if line == "" {
			break
		}
		inclusion = append(inclusion, hash("inclusion proof", line))
	}
	t := openCheckpoint(path+" checkpoint", text)
	if err := tlog.CheckRecord(inclusion, t.size, t.root, index, tlog.RecordHash(entry)); err != nil {
		fail("%s: inclusion of index %d in tree size %d: %v", path, index, t.size, err)
	}
	fmt.Printf("ok  %s: entry at index %d is in tree size %d (%d hashes)\n", path, index, t.size, len(inclusion))
}

// consistency verifies that the later checkpoint's tree extends the old one's.
func consistency(oldPath, laterPath string) {
	old := openCheckpoint(oldPath, read(oldPath))
	text := read(laterPath)
	i := bytes.IndexByte(text, '\n')
	if i < 0 || !strings.HasPrefix(string(text[:i]), "old ") {
		fail("%s: the first line is old <size>", laterPath)
	}
	if decimal("old", string(text[4:i])) != old.size {
		fail("%s: old size %s is not the old checkpoint's size %d", laterPath, text[4:i], old.size)
	}
	text = text[i+1:]
	var p tlog.TreeProof
	for {
		i := bytes.IndexByte(text, '\n')
		if i < 0 {
			fail("%s: no blank line before the checkpoint", laterPath)
		}
		line := string(text[:i])
		text = text[i+1:]
		if line == "" {
			break
		}
		p = append(p, hash("consistency proof", line))
	}
	later := openCheckpoint(laterPath+" checkpoint", text)
	if later.size < old.size {
		fail("tree size %d is smaller than the old tree size %d", later.size, old.size)
	}
	if later.size == old.size {
		if later.root != old.root || len(p) != 0 {
			fail("two roots for tree size %d", old.size)
		}
	} else if err := tlog.CheckTree(p, later.size, later.root, old.size, old.root); err != nil {
		fail("consistency from tree size %d to %d: %v", old.size, later.size, err)
	}
	fmt.Printf("ok  tree size %d extends tree size %d (%d hashes)\n", later.size, old.size, len(p))
}

// dirTiles reads C2SP tiles from a directory. x/mod names tiles tile/8/<L>/<N> and data tiles
// tile/8/data/<N>; C2SP drops the height (tile/<L>/<N>) and calls data tiles entries.
type dirTiles struct{ dir string }

func (d dirTiles) Height() int                     { return 8 }
func (d dirTiles) SaveTiles([]tlog.Tile, [][]byte) {}
func (d dirTiles) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		p := "tile/" + strings.TrimPrefix(t.Path(), "tile/8/")
		b, err := os.ReadFile(filepath.Join(d.dir, p))
		if err != nil {
			return nil, err
		}
		out[i] = b
	}
	return out, nil
}

// entry reads one entry from its C2SP entry bundle (uint16 big-endian length, bytes; at most 256).
func entry(dir string, index, size int64) []byte {
	n := index / 256
	width := size - n*256
	name := tlog.Tile{H: 8, L: -1, N: n, W: 256}.Path()
	if width < 256 {
		name = tlog.Tile{H: 8, L: -1, N: n, W: int(width)}.Path()
	}
	name = "tile/entries/" + strings.TrimPrefix(name, "tile/8/data/")
	bundle := read(filepath.Join(dir, name))
	for i := int64(0); ; i++ {
		if len(bundle) < 2 {
			fail("%s: entry %d missing", name, index%256)
		}
		l := int(binary.BigEndian.Uint16(bundle))
		if len(bundle) < 2+l {
			fail("%s: entry %d truncated", name, i)
		}
		if i == index%256 {
			return bundle[2 : 2+l]
		}
		bundle = bundle[2+l:]
	}
}

func tiles(checkpointPath, dir string, indexes []string) {
	t := openCheckpoint(checkpointPath, read(checkpointPath))
	reader := tlog.TileHashReader(tlog.Tree{N: t.size, Hash: t.root}, dirTiles{dir})
	root, err := tlog.TreeHash(t.size, reader)
	if err != nil {
		fail("the tiles of tree size %d: %v", t.size, err)
	}
	if root != t.root {
		fail("the tiles give root %s, the checkpoint signs %s", root, t.root)
	}
	for _, s := range indexes {
		index := decimal("index", s)
		if index >= t.size {
			fail("index %d is not in tree size %d", index, t.size)
		}
		p, err := tlog.ProveRecord(t.size, index, reader)
		if err != nil {
			fail("proving index %d from the tiles: %v", index, err)
		}
		// The hashes came from tiles; only the signed root makes them true.
		if err := tlog.CheckRecord(p, t.size, t.root, index, tlog.RecordHash(entry(dir, index, t.size))); err != nil {
			fail("entry %d from the tiles against the signed root of tree size %d: %v", index, t.size, err)
		}
	}
	fmt.Printf("ok  the tiles give the signed root of tree size %d; %d entries proven from them\n", t.size, len(indexes))
}

func main() {
	flag.Var(&witnesses, "witness-vkey", "a witness's cosignature/v1 verifier key (repeatable)")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: tlogcheck -log-vkey VKEY [-witness-vkey VKEY]... [-quorum N] checkpoint FILE | proof FILE | consistency OLD LATER | tiles CHECKPOINT DIR [INDEX]...")
		flag.PrintDefaults()
	}
	flag.Parse()
	args := flag.Args()
	if *logVkey == "" || len(args) < 2 {
		flag.Usage()
		os.Exit(2)
	}
	if *quorum > len(witnesses) {
		fmt.Fprintln(os.Stderr, errors.New("-quorum is larger than the number of -witness-vkey"))
		os.Exit(2)
	}
	switch {
	case args[0] == "checkpoint" && len(args) == 2:
		openCheckpoint(args[1], read(args[1]))
	case args[0] == "proof" && len(args) == 2:
		proof(args[1])
	case args[0] == "consistency" && len(args) == 3:
		consistency(args[1], args[2])
	case args[0] == "tiles" && len(args) >= 3:
		tiles(args[1], args[2], args[3:])
	default:
		flag.Usage()
		os.Exit(2)
	}
}
