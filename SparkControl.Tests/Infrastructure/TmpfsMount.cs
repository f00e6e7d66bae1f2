namespace SparkControl.Tests.Infrastructure;

/// <summary>
/// A small tmpfs of the test's own, for storage faults root cannot fake with chmod: made read-only (remounted
/// <c>ro</c>, also while an app writes to it), or filled until the disk is full.
/// </summary>
public sealed class TmpfsMount : IAsyncDisposable
{
    private readonly TempDirectory _directory = new("sc-tmpfs");

    private TmpfsMount()
    {
    }

    public string Path => _directory.Path;

    public static async Task<TmpfsMount> CreateAsync(int sizeMiB = 16)
    {
        var mount = new TmpfsMount();
        (await ProcessRunner.RunAsync("/bin/mount", ["-t", "tmpfs", "-o", $"size={sizeMiB}m", "tmpfs", mount.Path])).EnsureSuccess("mount tmpfs");
        return mount;
    }

    /// <summary>Mounts a tmpfs, lets <paramref name="fill"/> put files in it, then makes it read-only.</summary>
    public static async Task<TmpfsMount> CreateReadOnlyAsync(Func<string, Task>? fill = null)
    {
        var mount = await CreateAsync(4);
        if (fill is not null)
        {
            await fill(mount.Path);
        }

        await mount.RemountReadOnlyAsync();
        return mount;
    }

    /// <summary>
    /// The same files at a second path that is read-only from the start (a bind mount, as a volume mounted <c>:ro</c>):
    /// works while something still has a file open for writing here, which a remount of this one refuses.
    /// </summary>
    public async Task<ReadOnlyView> ReadOnlyViewAsync()
    {
        var view = new TempDirectory("sc-ro-view");
        (await ProcessRunner.RunAsync("/bin/mount", ["--bind", Path, view.Path])).EnsureSuccess("bind mount");
        (await ProcessRunner.RunAsync("/bin/mount", ["-o", "remount,ro,bind", view.Path])).EnsureSuccess("remount the bind read-only");
        return new ReadOnlyView(view);
    }

    public sealed class ReadOnlyView(TempDirectory directory) : IAsyncDisposable
    {
        public string Path => directory.Path;

        public async ValueTask DisposeAsync()
        {
            await ProcessRunner.RunAsync("/bin/umount", ["-l", Path]);
            directory.Dispose();
        }
    }

    public async Task RemountReadOnlyAsync() =>
        (await ProcessRunner.RunAsync("/bin/mount", ["-o", "remount,ro", Path])).EnsureSuccess("remount read-only");

    public async Task RemountWritableAsync() =>
        (await ProcessRunner.RunAsync("/bin/mount", ["-o", "remount,rw", Path])).EnsureSuccess("remount read-write");

    /// <summary>Fills the file system to the last byte with a file of its own; deleting it frees the space again.</summary>
    public async Task<string> FillAsync()
    {
        var filler = System.IO.Path.Combine(Path, "filler");
        var result = await ProcessRunner.RunAsync("/bin/dd", ["if=/dev/zero", $"of={filler}", "bs=64k"]);
        if (!result.Stderr.Contains("No space left on device", StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"dd did not fill {Path}: {result.Stderr}");
        }

        return filler;
    }

    public async ValueTask DisposeAsync()
    {
        await ProcessRunner.RunAsync("/bin/umount", ["-l", Path]);
        _directory.Dispose();
    }
}
