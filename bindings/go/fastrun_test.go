package fastrun

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

// The tests that run containers need root and /bin/busybox (busybox-static); they build
// their own bundles (a busybox rootfs and the default spec) under t.TempDir().

var applets = []string{"sh", "true", "echo", "sleep", "cat", "ls"}

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	if _, err := os.Stat("/bin/busybox"); err != nil {
		t.Skip("needs /bin/busybox (busybox-static)")
	}
}

var idSeq struct {
	sync.Mutex
	n int
}

// newID returns a container id unique to this test process.
func newID(name string) string {
	idSeq.Lock()
	defer idSeq.Unlock()
	idSeq.n++
	return fmt.Sprintf("gotest-%s-%d-%d", name, os.Getpid(), idSeq.n)
}

// bundle makes a bundle directory whose config (returned too) runs args in a busybox
// rootfs given by a path relative to the bundle.
func bundle(t *testing.T, args ...string) (string, []byte) {
	t.Helper()
	dir := t.TempDir()
	rootfs := filepath.Join(dir, "rootfs")
	for _, d := range []string{"bin", "proc", "sys", "dev", "tmp", "etc"} {
		if err := os.MkdirAll(filepath.Join(rootfs, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	src, err := os.Open("/bin/busybox")
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.OpenFile(filepath.Join(rootfs, "bin/busybox"), os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
	for _, a := range applets {
		if err := os.Symlink("busybox", filepath.Join(rootfs, "bin", a)); err != nil {
			t.Fatal(err)
		}
	}
	spec, err := Spec(false)
	if err != nil {
		t.Fatal(err)
	}
	var config map[string]interface{}
	if err := json.Unmarshal(spec, &config); err != nil {
		t.Fatal(err)
	}
	config["root"] = map[string]interface{}{"path": "rootfs", "readonly": true}
	process := config["process"].(map[string]interface{})
	process["terminal"] = false
	process["args"] = args
	out, err := json.MarshalIndent(config, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), out, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, out
}

// loadEdited loads config (a bundle's JSON) after edit changed it, with dir as the
// bundle directory; the caller closes the result.
func loadEdited(t *testing.T, config []byte, dir string, edit func(m map[string]interface{})) *Container {
	t.Helper()
	var m map[string]interface{}
	if err := json.Unmarshal(config, &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	edited, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	c, err := LoadConfig(edited, dir)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// newContext makes a context on a fresh state root; at cleanup it force-deletes the
// given ids and checks that nothing of them is left.
func newContext(t *testing.T, opts *ContextOptions, ids ...*string) (*Context, string) {
	t.Helper()
	root := t.TempDir()
	if opts == nil {
		opts = &ContextOptions{}
	}
	opts.Root = root
	ctx, err := NewContext(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, id := range ids {
			if err := ctx.Delete(*id, true); err != nil {
				t.Errorf("cleanup: delete %s: %v", *id, err)
			}
			if _, err := os.Stat(filepath.Join(root, *id)); !os.IsNotExist(err) {
				t.Errorf("state directory of %s left behind", *id)
			}
			if _, err := os.Stat(filepath.Join("/sys/fs/cgroup/memory/fastrun", *id)); !os.IsNotExist(err) {
				t.Errorf("memory cgroup of %s left behind", *id)
			}
		}
		ctx.Close()
	})
	return ctx, root
}

// stateLeft lists what the containers left under a state root: its entries but the
// directory of the per-id lock files (.locks, which stays), and any lock file in it.
func stateLeft(root string) []string {
	var left []string
	entries, _ := os.ReadDir(root)
	for _, e := range entries {
		if e.Name() != ".locks" {
			left = append(left, e.Name())
		}
	}
	locks, _ := os.ReadDir(filepath.Join(root, ".locks"))
	for _, e := range locks {
		left = append(left, filepath.Join(".locks", e.Name()))
	}
	return left
}

func waitStatus(t *testing.T, ctx *Context, id, status string) *State {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, err := ctx.State(id)
		if err != nil {
			t.Fatalf("state %s: %v", id, err)
		}
		if st.Status == status {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("container %s is %s, never %s", id, st.Status, status)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func wantCode(t *testing.T, err error, target *Error, substr string) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("want %v error, got %#v", target.Code, err)
	}
	var fe *Error
	if !errors.As(err, &fe) || !strings.Contains(fe.Message, substr) {
		t.Fatalf("error %q lacks %q", err, substr)
	}
}

func TestVersionAndSignals(t *testing.T) {
	if v := Version(); v == "" || strings.Count(v, ".") != 2 {
		t.Fatalf("version %q", v)
	}
	for name, want := range map[string]syscall.Signal{"KILL": syscall.SIGKILL, "sigterm": syscall.SIGTERM, "9": 9, "RTMIN+1": 35} {
		got, err := ParseSignal(name)
		if err != nil || got != want {
			t.Errorf("ParseSignal(%q) = %v, %v; want %v", name, got, err, want)
		}
	}
	_, err := ParseSignal("NOSUCHSIGNAL")
	wantCode(t, err, ErrInvalidArgument, "NOSUCHSIGNAL")
	_, err = ParseSignal("KILL\x00")
	wantCode(t, err, ErrInvalidArgument, "NUL")
}

func TestSpecAndFeatures(t *testing.T) {
	for _, rootless := range []bool{false, true} {
		spec, err := Spec(rootless)
		if err != nil {
			t.Fatal(err)
		}
		var v map[string]interface{}
		if err := json.Unmarshal(spec, &v); err != nil || v["ociVersion"] == nil {
			t.Fatalf("spec(%v): %v: %s", rootless, err, spec)
		}
	}
	f, err := Features()
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]interface{}
	if err := json.Unmarshal(f, &v); err != nil || v["ociVersionMin"] == nil {
		t.Fatalf("features: %v: %s", err, f)
	}
}

func TestErrors(t *testing.T) {
	_, err := Load("/nonexistent-bundle")
	wantCode(t, err, ErrSystem, "/nonexistent-bundle/config.json")
	if !errors.Is(err, syscall.ENOENT) {
		t.Errorf("%v: errno is not ENOENT", err)
	}
	_, err = LoadConfig([]byte(`{"ociVersion": "1.0.2", "root": {"path": 5}}`), "/tmp")
	wantCode(t, err, ErrInvalidConfig, "root.path")
	_, err = LoadConfig([]byte("{\n  \"ociVersion\": \"1.0.2\",\n  oops\n}"), "/tmp")
	wantCode(t, err, ErrInvalidConfig, "line 3")

	ctx, _ := newContext(t, nil)
	_, err = ctx.State("missing")
	wantCode(t, err, ErrNotFound, "missing")
	if err.Error() != `fastrun: state: container "missing" does not exist` {
		t.Errorf("message: %q", err)
	}
	wantCode(t, ctx.Kill("missing", syscall.Signal(99)), ErrInvalidArgument, "99")
	wantCode(t, ctx.Start("bad\x00id"), ErrInvalidArgument, "NUL")
	wantCode(t, ctx.Start("../escape"), ErrInvalidArgument, "")
	// Too long for a state directory's name: an invalid argument, not ENAMETOOLONG.
	long := strings.Repeat("a", 399)
	wantCode(t, ctx.Start(long), ErrInvalidArgument, "399 bytes long")
	_, _, err = ctx.Wait(long, 0)
	wantCode(t, err, ErrInvalidArgument, "399 bytes long")
	_, err = ctx.Exec("missing", &ExecOptions{})
	wantCode(t, err, ErrInvalidArgument, "args")
	wantCode(t, ctx.Update("missing", nil), ErrInvalidArgument, "resources")
	states, err := ctx.List()
	if err != nil || len(states) != 0 {
		t.Fatalf("list on an empty root: %v, %v", states, err)
	}

	// Closed handles.
	c, err := LoadConfig(mustSpec(t), "/tmp")
	if err != nil {
		t.Fatal(err)
	}
	_, err = ctx.Create(long, c, nil)
	wantCode(t, err, ErrInvalidArgument, "399 bytes long")
	c.Close()
	c.Close()
	_, err = ctx.Create("x", c, nil)
	wantCode(t, err, ErrClosed, "closed")
	ctx2, err := NewContext(&ContextOptions{Root: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	ctx2.Close()
	_, err = ctx2.State("x")
	wantCode(t, err, ErrClosed, "closed")
}

func mustSpec(t *testing.T) []byte {
	s, err := Spec(false)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestLogger(t *testing.T) {
	var mu sync.Mutex
	var lines []string
	ctx, _ := newContext(t, &ContextOptions{
		LogLevel: LogDebug,
		Logger: func(level LogLevel, msg string) {
			mu.Lock()
			defer mu.Unlock()
			lines = append(lines, fmt.Sprintf("%d %s", level, msg))
		},
	})
	_, err := ctx.State("nope")
	wantCode(t, err, ErrNotFound, "nope")
	mu.Lock()
	defer mu.Unlock()
	want := `1 state: container "nope" does not exist`
	for _, l := range lines {
		if l == want {
			return
		}
	}
	t.Fatalf("log lines %q lack %q", lines, want)
}

func TestLogFile(t *testing.T) {
	log := filepath.Join(t.TempDir(), "fastrun.log")
	ctx, _ := newContext(t, &ContextOptions{LogFile: log})
	ctx.Start("nope")
	data, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	var line struct{ Level, Msg string }
	if err := json.Unmarshal(data, &line); err != nil || line.Level != "error" || !strings.Contains(line.Msg, "nope") {
		t.Fatalf("log file: %v: %s", err, data)
	}
}

func TestRunForeground(t *testing.T) {
	needRoot(t)
	id := newID("run")
	ctx, _ := newContext(t, nil, &id)
	dir, _ := bundle(t, "sh", "-c", "exit 5")
	c, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	status, err := ctx.Run(id, c, nil)
	if err != nil || status != 5 {
		t.Fatalf("run: status %d, %v; want 5", status, err)
	}
	_, err = ctx.State(id)
	wantCode(t, err, ErrNotFound, id)
}

// inBothSpawnModes runs f as two subtests: auto (fork-like for this small
// process) and SpawnVM.
func inBothSpawnModes(t *testing.T, f func(*testing.T, SpawnMode)) {
	for _, m := range []struct {
		name  string
		spawn SpawnMode
	}{{"auto", SpawnAuto}, {"vm", SpawnVM}} {
		t.Run(m.name, func(t *testing.T) { f(t, m.spawn) })
	}
}

func TestLifecycle(t *testing.T) { inBothSpawnModes(t, lifecycle) }

func lifecycle(t *testing.T, spawn SpawnMode) {
	needRoot(t)
	id := newID("life")
	ctx, _ := newContext(t, &ContextOptions{Spawn: spawn}, &id)
	dir, config := bundle(t, "sleep", "60")
	// The config in memory differs from the bundle's config.json, which then goes away:
	// create must use the one in memory.
	c := loadEdited(t, config, dir, func(m map[string]interface{}) {
		m["annotations"] = map[string]string{"org.example.source": "memory"}
	})
	defer c.Close()
	if err := os.Remove(filepath.Join(dir, "config.json")); err != nil {
		t.Fatal(err)
	}
	pidFile := filepath.Join(dir, "init.pid")
	pid, err := ctx.Create(id, c, &CreateOptions{PidFile: pidFile})
	if err != nil {
		t.Fatal(err)
	}
	if data, err := os.ReadFile(pidFile); err != nil || string(data) != strconv.Itoa(pid) {
		t.Fatalf("pid file: %q, %v; want %d", data, err, pid)
	}
	st, err := ctx.State(id)
	if err != nil {
		t.Fatal(err)
	}
	if st.Status != "created" || st.Pid != pid || st.ID != id || st.Bundle != dir ||
		st.Rootfs != filepath.Join(dir, "rootfs") || time.Since(st.Created) > time.Minute ||
		st.Annotations["org.example.source"] != "memory" {
		t.Fatalf("state: %+v", st)
	}
	_, err = ctx.Create(id, c, nil)
	wantCode(t, err, ErrAlreadyExists, id)

	if err := ctx.Start(id); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, ctx, id, "running")
	wantCode(t, ctx.Start(id), ErrInvalidState, "running")
	if code, err := ctx.Exec(id, &ExecOptions{Args: []string{"sh", "-c", "exit 3"}}); err != nil || code != 3 {
		t.Fatalf("exec: want exit status 3, got %d, %v", code, err)
	}
	states, err := ctx.List()
	if err != nil || len(states) != 1 || states[0].ID != id {
		t.Fatalf("list: %+v, %v", states, err)
	}
	wantCode(t, ctx.Delete(id, false), ErrInvalidState, "not stopped")

	if err := ctx.Kill(id, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, ctx, id, "stopped")
	if err := ctx.Delete(id, false); err != nil {
		t.Fatal(err)
	}
	_, err = ctx.State(id)
	wantCode(t, err, ErrNotFound, id)
	// The init was reaped by libfastrun: no zombie is left.
	if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); !os.IsNotExist(err) {
		t.Fatalf("init %d still exists (a zombie?)", pid)
	}
}

// Goroutines share one Context: creates, starts and deletes run concurrently.
func TestConcurrentContainers(t *testing.T) { inBothSpawnModes(t, concurrentContainers) }

func concurrentContainers(t *testing.T, spawn SpawnMode) {
	needRoot(t)
	ids := make([]string, 4)
	ptrs := make([]*string, len(ids))
	for i := range ids {
		ids[i] = newID("conc")
		ptrs[i] = &ids[i]
	}
	ctx, root := newContext(t, &ContextOptions{Spawn: spawn}, ptrs...)
	dir, _ := bundle(t, "sleep", "60")
	// The Go runtime keeps allocating and collecting meanwhile: with SpawnVM the
	// children share this memory until their exec.
	stop := make(chan struct{})
	defer close(stop)
	go churn(stop)
	c, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var wg sync.WaitGroup
	errs := make(chan error, len(ids))
	for _, id := range ids {
		wg.Add(1)
		go func(id string) {
			defer wg.Done()
			if _, err := ctx.Run(id, c, &CreateOptions{Detach: true}); err != nil {
				errs <- err
				return
			}
			if err := ctx.Delete(id, true); err != nil {
				errs <- err
			}
		}(id)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if left := stateLeft(root); len(left) != 0 {
		t.Fatalf("state left under the root: %v", left)
	}
}

// churn allocates and collects until stop is closed.
func churn(stop chan struct{}) {
	var keep [][]byte
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		default:
		}
		keep = append(keep, make([]byte, 64<<10))
		if len(keep) > 64 {
			keep = nil
			runtime.GC()
		}
	}
}

// With SpawnVM a created container's init shares this process's memory until
// start: what it runs must survive the host's garbage collection in between, and
// no Go signal handler may run in it (a signal does to it what it does to any
// container init).
func TestSharedMemorySpawnFromGo(t *testing.T) {
	needRoot(t)
	id, id2 := newID("vm"), newID("vm-sig")
	ctx, _ := newContext(t, &ContextOptions{Spawn: SpawnVM}, &id, &id2)
	out := t.TempDir()
	mark := fmt.Sprintf("mark-%d-%d", os.Getpid(), time.Now().UnixNano())
	dir, config := bundle(t, "sh", "-c", "echo \"$0\" > /out/mark", mark)
	c := loadEdited(t, config, dir, func(m map[string]interface{}) {
		m["mounts"] = append(m["mounts"].([]interface{}), map[string]interface{}{
			"destination": "/out", "type": "bind", "source": out, "options": []string{"rbind", "rw"},
		})
	})
	if _, err := ctx.Create(id, c, nil); err != nil {
		t.Fatal(err)
	}
	// Drop the config and stress the heap before start.
	c.Close()
	stop := make(chan struct{})
	go churn(stop)
	time.Sleep(200 * time.Millisecond)
	runtime.GC()
	close(stop)
	if err := ctx.Start(id); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, ctx, id, "stopped")
	if data, err := os.ReadFile(filepath.Join(out, "mark")); err != nil || strings.TrimSpace(string(data)) != mark {
		t.Fatalf("the container wrote %q, %v; want %q", data, err, mark)
	}

	// SIGUSR1 has a Go handler in this process; the created init must die of it
	// (without a pid namespace of its own: a namespace's init ignores signals it
	// has no handler for, except SIGKILL).
	_, config2 := bundle(t, "sleep", "60")
	c2 := loadEdited(t, config2, dir, func(m map[string]interface{}) {
		linux := m["linux"].(map[string]interface{})
		var nss []interface{}
		for _, n := range linux["namespaces"].([]interface{}) {
			if n.(map[string]interface{})["type"] != "pid" {
				nss = append(nss, n)
			}
		}
		linux["namespaces"] = nss
	})
	defer c2.Close()
	if _, err := ctx.Create(id2, c2, nil); err != nil {
		t.Fatal(err)
	}
	if err := ctx.Kill(id2, syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, ctx, id2, "stopped")
}

// The header's version is the library's (both from one install, through pkg-config).
func TestVersionCheck(t *testing.T) {
	if err := CheckVersion(); err != nil {
		t.Fatal(err)
	}
	if Version() != HeaderVersion {
		t.Fatalf("library %s, header %s", Version(), HeaderVersion)
	}
	if checkVersion("99.0.0") == nil {
		t.Fatal("a library of another major version was accepted")
	}
	if checkVersion(Version()) != nil {
		t.Fatal("the library's own version was refused")
	}
}

// 64 goroutines x 25 lifecycles on one Context, each container with its own exit
// status, half create+start+Wait, half Run: not one of the 1 600 statuses is lost (Go's
// SIGCHLD handler is installed the whole time).
func TestNoExitStatusLost(t *testing.T) { inBothSpawnModes(t, noExitStatusLost) }

func noExitStatusLost(t *testing.T, spawn SpawnMode) {
	needRoot(t)
	const goroutines, rounds = 64, 25
	ctx, root := newContext(t, &ContextOptions{Spawn: spawn})
	dir, config := bundle(t, "true")
	configs := make([]*Container, 200)
	for i := range configs {
		code := i + 1
		configs[i] = loadEdited(t, config, dir, func(m map[string]interface{}) {
			m["process"].(map[string]interface{})["args"] = []string{"sh", "-c", fmt.Sprintf("exit %d", code)}
		})
		defer configs[i].Close()
	}
	var lost, done int64
	var mu sync.Mutex
	var wg sync.WaitGroup
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < rounds; i++ {
				id := fmt.Sprintf("%s-%d-%d", newID("lost"), g, i)
				k := (g*37 + i) % 200
				want := k + 1
				var got int
				var err error
				if i%2 == 0 {
					if _, err = ctx.Create(id, configs[k], nil); err == nil {
						if err = ctx.Start(id); err == nil {
							var exited bool
							got, exited, err = ctx.Wait(id, 20*time.Second)
							if err == nil && !exited {
								err = fmt.Errorf("wait timed out")
							}
						}
					}
					if derr := ctx.Delete(id, true); derr != nil && err == nil {
						err = derr
					}
				} else {
					got, err = ctx.Run(id, configs[k], nil)
				}
				mu.Lock()
				done++
				if err != nil || got != want {
					lost++
					t.Errorf("%s: want %d, got %d, %v", id, want, got, err)
				}
				mu.Unlock()
			}
		}(g)
	}
	wg.Wait()
	t.Logf("lost %d of %d", lost, done)
	if lost != 0 || done != goroutines*rounds {
		t.Fatalf("lost %d of %d", lost, done)
	}
	if left := stateLeft(root); len(left) != 0 {
		t.Fatalf("state left under the root: %v", left)
	}
}

// A host that ignores SIGCHLD (the kernel then reaps its children at once): Create +
// Start + Wait and Run still return the exit status, in both spawn modes. In a child
// test process: Go cannot give SIGCHLD its handler back after signal.Ignore, and
// os/exec needs it.
func TestExitStatusWithSIGCHLDIgnored(t *testing.T) {
	needRoot(t)
	if os.Getenv("FASTRUN_GO_TEST_SIGCHLD_IGNORED") != "1" {
		cmd := exec.Command(os.Args[0], "-test.run=^TestExitStatusWithSIGCHLDIgnored$", "-test.v", "-test.count=1")
		cmd.Env = append(os.Environ(), "FASTRUN_GO_TEST_SIGCHLD_IGNORED=1")
		out, err := cmd.CombinedOutput()
		t.Logf("child test process:\n%s", out)
		if err != nil || !strings.Contains(string(out), "\nPASS\n") || strings.Contains(string(out), "--- SKIP") {
			t.Fatalf("child test process: %v", err)
		}
		return
	}
	signal.Ignore(syscall.SIGCHLD)
	// The kernel's view: SIGCHLD (17) is ignored by this process.
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(status), "\n") {
		if strings.HasPrefix(l, "SigIgn:") {
			mask, err := strconv.ParseUint(strings.TrimSpace(l[7:]), 16, 64)
			if err != nil || mask&(1<<(syscall.SIGCHLD-1)) == 0 {
				t.Fatalf("SIGCHLD is not ignored: %q, %v", l, err)
			}
		}
	}
	inBothSpawnModes(t, func(t *testing.T, spawn SpawnMode) {
		id, runID := newID("sigign"), newID("sigign-run")
		ctx, _ := newContext(t, &ContextOptions{Spawn: spawn}, &id, &runID)
		dir, _ := bundle(t, "sh", "-c", "exit 41")
		c, err := Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := ctx.Create(id, c, nil); err != nil {
			t.Fatal(err)
		}
		if err := ctx.Start(id); err != nil {
			t.Fatal(err)
		}
		if code, exited, err := ctx.Wait(id, 20*time.Second); err != nil || !exited || code != 41 {
			t.Fatalf("create+start+wait: %d, %v, %v", code, exited, err)
		}
		if err := ctx.Delete(id, false); err != nil {
			t.Fatal(err)
		}
		if code, err := ctx.Run(runID, c, nil); err != nil || code != 41 {
			t.Fatalf("run: %d, %v", code, err)
		}
	})
}

// Wait's timeout, Pidfd, the exit status in State, Wait after Delete.
func TestWaitPidfdAndExitStatus(t *testing.T) {
	needRoot(t)
	id := newID("wait")
	ctx, _ := newContext(t, nil, &id)
	dir, _ := bundle(t, "sh", "-c", "exit 5")
	c, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := ctx.Create(id, c, nil); err != nil {
		t.Fatal(err)
	}
	if _, exited, err := ctx.Wait(id, 100*time.Millisecond); err != nil || exited {
		t.Fatalf("wait on a created container: exited %v, %v", exited, err)
	}
	pidfd, err := ctx.Pidfd(id)
	if err != nil {
		t.Fatal(err)
	}
	defer pidfd.Close()
	if err := ctx.Start(id); err != nil {
		t.Fatal(err)
	}
	code, exited, err := ctx.Wait(id, -1)
	if err != nil || !exited || code != 5 {
		t.Fatalf("wait: %d, %v, %v", code, exited, err)
	}
	st, err := ctx.State(id)
	if err != nil || st.Status != "stopped" || st.ExitStatus == nil || *st.ExitStatus != 5 {
		t.Fatalf("state: %+v, %v", st, err)
	}
	if code, exited, err = ctx.Wait(id, 0); err != nil || !exited || code != 5 {
		t.Fatalf("second wait: %d, %v, %v", code, exited, err)
	}
	if err := ctx.Delete(id, false); err != nil {
		t.Fatal(err)
	}
	_, _, err = ctx.Wait(id, 0)
	wantCode(t, err, ErrNotFound, id)
}

// A detached exec returns a pid; libfastrun reaps it; a zombie exec never keeps a
// SIGKILLed container from stopping and being deleted.
func TestDetachedExecIsReaped(t *testing.T) {
	needRoot(t)
	id := newID("execz")
	ctx, _ := newContext(t, nil, &id)
	dir, config := bundle(t, "sleep", "60")
	c, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := ctx.Run(id, c, &CreateOptions{Detach: true}); err != nil {
		t.Fatal(err)
	}
	pid, err := ctx.Exec(id, &ExecOptions{Args: []string{"true"}, Detach: true})
	if err != nil || pid <= 0 {
		t.Fatalf("detached exec: pid %d, %v", pid, err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); os.IsNotExist(err) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("exec'd process %d not reaped", pid)
		}
		time.Sleep(5 * time.Millisecond)
	}
	// From memory, like --process: the caller reaps this one.
	var m map[string]interface{}
	if err := json.Unmarshal(config, &m); err != nil {
		t.Fatal(err)
	}
	proc := m["process"].(map[string]interface{})
	proc["args"] = []string{"sh", "-c", "exit 4"}
	pj, _ := json.Marshal(proc)
	pid2, pidfd, err := ctx.ExecDetached(id, &ExecOptions{Process: pj, CallerReaps: true})
	if err != nil {
		t.Fatal(err)
	}
	var info [128]byte // siginfo_t
	_, _, errno := syscall.Syscall6(syscall.SYS_WAITID, 3 /* P_PIDFD */, pidfd.Fd(), uintptr(unsafe.Pointer(&info[0])), syscall.WEXITED, 0, 0)
	pidfd.Close()
	// si_pid at offset 16, si_status at offset 24 (x86_64).
	if errno != 0 || *(*int32)(unsafe.Pointer(&info[16])) != int32(pid2) || *(*int32)(unsafe.Pointer(&info[24])) != 4 {
		t.Fatalf("waitid on the exec'd process: %v, pid %d (want %d), status %d", errno,
			*(*int32)(unsafe.Pointer(&info[16])), pid2, *(*int32)(unsafe.Pointer(&info[24])))
	}
	if _, err := ctx.Exec(id, &ExecOptions{Args: []string{"true"}, Detach: true}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	start := time.Now()
	if err := ctx.Kill(id, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if code, exited, err := ctx.Wait(id, 5*time.Second); err != nil || !exited || code != 137 {
		t.Fatalf("wait after SIGKILL: %d, %v, %v", code, exited, err)
	}
	if err := ctx.Delete(id, false); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("kill + delete took %v", d)
	}
}

// The Trace option writes the --trace lines.
func TestTrace(t *testing.T) {
	needRoot(t)
	id := newID("trace")
	trace := filepath.Join(t.TempDir(), "trace.json")
	ctx, _ := newContext(t, &ContextOptions{Trace: trace}, &id)
	dir, _ := bundle(t, "true")
	c, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if code, err := ctx.Run(id, c, nil); err != nil || code != 0 {
		t.Fatalf("run: %d, %v", code, err)
	}
	data, err := os.ReadFile(trace)
	if err != nil || !strings.Contains(string(data), `"total"`) || !strings.Contains(string(data), `"run"`) {
		t.Fatalf("trace: %q, %v", data, err)
	}
}

// Stats, and Events: an OOM kill (a memory hog under a limit), then the exit.
func TestStatsAndEvents(t *testing.T) {
	needRoot(t)
	id := newID("events")
	ctx, _ := newContext(t, nil, &id)
	dir, config := bundle(t, "true")
	c := loadEdited(t, config, dir, func(m map[string]interface{}) {
		m["process"].(map[string]interface{})["args"] = []string{"sh", "-c", "dd if=/dev/zero of=/dev/null bs=128M count=1; exit 3"}
		linux := m["linux"].(map[string]interface{})
		res, _ := linux["resources"].(map[string]interface{})
		if res == nil {
			res = map[string]interface{}{}
			linux["resources"] = res
		}
		res["memory"] = map[string]interface{}{"limit": 32 << 20, "swap": 32 << 20}
	})
	defer c.Close()
	if _, err := ctx.Create(id, c, nil); err != nil {
		t.Fatal(err)
	}
	stats, err := ctx.Stats(id)
	if err != nil || !strings.HasPrefix(string(stats), `{"type":"stats","id":"`+id+`","data":{`) {
		t.Fatalf("stats: %s, %v", stats, err)
	}
	ev, err := ctx.OpenEvents(id)
	if err != nil {
		t.Fatal(err)
	}
	defer ev.Close()
	if err := ctx.Start(id); err != nil {
		t.Fatal(err)
	}
	ooms, exits := 0, 0
	deadline := time.Now().Add(20 * time.Second)
	for exits == 0 && time.Now().Before(deadline) {
		var rfds syscall.FdSet
		rfds.Bits[ev.Fd()/64] |= 1 << (uint(ev.Fd()) % 64)
		tv := syscall.Timeval{Sec: 1}
		if _, err := syscall.Select(ev.Fd()+1, &rfds, nil, nil, &tv); err != nil && err != syscall.EINTR {
			t.Fatal(err)
		}
		for {
			e, err := ev.Next()
			if err != nil {
				t.Fatal(err)
			}
			if e == EventNone {
				break
			}
			if e == EventOOM {
				ooms++
			} else if e == EventExit {
				exits++
			}
		}
	}
	if ooms < 1 || exits != 1 {
		t.Fatalf("events: %d OOM, %d exit", ooms, exits)
	}
	if code, exited, err := ctx.Wait(id, 0); err != nil || !exited || code != 3 {
		t.Fatalf("wait after the exit event: %d, %v, %v", code, exited, err)
	}
}
