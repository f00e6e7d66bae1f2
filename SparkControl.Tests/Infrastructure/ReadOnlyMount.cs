namespace SparkControl.Tests.Infrastructure;

/// <summary>
/// A directory that is truly read-only, even for root: a small tmpfs remounted <c>ro</c>. (chmod does not stop root.)
/// </summary>
public sealed class ReadOnlyMount : IAsyncDisposable
{
    private readonly TempDirectory _directory = new("sc-ro");

    private ReadOnlyMount()
    {
    }

    public string Path => _directory.Path;

    /// <summary>Mounts a tmpfs, lets <paramref name="fill"/> put files in it, then makes it read-only.</summary>
    public static async Task<ReadOnlyMount> CreateAsync(Func<string, Task>? fill = null)
    {
        var mount = new ReadOnlyMount();
        (await ProcessRunner.RunAsync("/bin/mount", ["-t", "tmpfs", "-o", "size=4m", "tmpfs", mount.Path])).EnsureSuccess("mount tmpfs");
        if (fill is not null)
        {
            await fill(mount.Path);
        }

        (await ProcessRunner.RunAsync("/bin/mount", ["-o", "remount,ro", mount.Path])).EnsureSuccess("remount read-only");
        return mount;
    }

    public async ValueTask DisposeAsync()
    {
        await ProcessRunner.RunAsync("/bin/umount", ["-l", Path]);
        _directory.Dispose();
    }
}
