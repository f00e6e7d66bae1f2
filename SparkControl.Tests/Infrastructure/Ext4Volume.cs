namespace SparkControl.Tests.Infrastructure;

/// <summary>
/// An ext4 volume mounted <c>errors=remount-ro</c> (a loop device over a sparse image on a small tmpfs of its own), which
/// the kernel turns read-only under the running app, as it does on a real server whose disk fails: a plain remount
/// refuses while files are open for writing. <see cref="FailAsync"/> aborts ext4's journal (its <c>abort</c> mount
/// option, meant for exactly this), and ext4 then remounts itself read-only, files open or not.
/// </summary>
public sealed class Ext4Volume : IAsyncDisposable
{
    private readonly TempDirectory _backing = new("sc-ext4-backing");
    private readonly TempDirectory _mount = new("sc-ext4");
    private string? _loop;

    private Ext4Volume()
    {
    }

    public string Path => _mount.Path;

    public static async Task<Ext4Volume> CreateAsync()
    {
        var volume = new Ext4Volume();
        (await ProcessRunner.RunAsync("/bin/mount", ["-t", "tmpfs", "-o", "size=64m", "tmpfs", volume._backing.Path])).EnsureSuccess("mount the backing tmpfs");
        var image = volume._backing.File("volume.img");
        (await ProcessRunner.RunAsync("/usr/bin/truncate", ["-s", "128M", image])).EnsureSuccess("make the image");
        (await ProcessRunner.RunAsync("/sbin/mkfs.ext4", ["-q", "-F", "-E", "lazy_itable_init=0,lazy_journal_init=0", image])).EnsureSuccess("mkfs.ext4");
        volume._loop = (await ProcessRunner.RunAsync("/sbin/losetup", ["--find", "--show", image])).EnsureSuccess("losetup").Stdout.Trim();
        (await ProcessRunner.RunAsync("/sbin/blockdev", ["--setrw", volume._loop])).EnsureSuccess("blockdev --setrw");
        (await ProcessRunner.RunAsync("/bin/mount", ["-o", "errors=remount-ro", volume._loop, volume.Path])).EnsureSuccess("mount ext4");
        return volume;
    }

    /// <summary>The volume fails: ext4 aborts its journal and turns the mount read-only, with the app's files still open.</summary>
    public async Task FailAsync()
    {
        (await ProcessRunner.RunAsync("/bin/mount", ["-o", "remount,abort", Path])).EnsureSuccess("abort ext4's journal");
        // ext4 marks such a mount emergency_ro (the plain "ro" flag is not in /proc/mounts then).
        await Wait.UntilAsync(async () => (await File.ReadAllLinesAsync("/proc/mounts")).Any(l => l.Split(' ') is [_, var point, _, var options, ..] && point == Path
                && options.Split(',').Any(o => o is "ro" or "emergency_ro")),
            "ext4 turns the volume read-only", TimeSpan.FromSeconds(30));
    }

    public async ValueTask DisposeAsync()
    {
        await ProcessRunner.RunAsync("/bin/umount", ["-l", Path]);
        if (_loop is not null)
        {
            await ProcessRunner.RunAsync("/sbin/losetup", ["-d", _loop]);
        }

        await ProcessRunner.RunAsync("/bin/umount", ["-l", _backing.Path]);
        _mount.Dispose();
        _backing.Dispose();
    }
}
