using SparkControl.Core.Remote;
using SparkControl.Tests.Infrastructure;

namespace SparkControl.Tests.Remote;

/// <summary>
/// The one gate for private key files: only files in a key directory, real files once every link is followed, of at
/// most 64 KiB. Before it, a Spark's keyPath could name /etc/shadow (read as root) or /dev/zero (the panel grew to 13 GB).
/// </summary>
public sealed class SshKeyFilesTests : IAsyncLifetime
{
    private readonly TempDirectory _root = new("sc-keys");
    private string _keys = null!;

    public async Task InitializeAsync()
    {
        _keys = _root.File("ssh-keys");
        Directory.CreateDirectory(_keys);
        (await ProcessRunner.RunAsync(Tools.SshKeygen, ["-q", "-t", "ed25519", "-N", string.Empty, "-f", Key("good")])).EnsureSuccess("ssh-keygen");
    }

    private string Key(string name) => Path.Combine(_keys, name);

    private void Refused(string keyPath, string because)
    {
        var error = Assert.Throws<SshKeyFileException>(() => SshKeyFiles.Read(keyPath, [_keys]));
        Assert.Contains(because, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_AKeyInTheKeyDirectory_IsItsBytes() =>
        Assert.Equal(File.ReadAllBytes(Key("good")), SshKeyFiles.Read(Key("good"), [_keys]));

    [Theory]
    [InlineData("/etc/shadow")]
    [InlineData("/dev/zero")]
    [InlineData("/root/.ssh/id_ed25519")]
    public void Read_OutsideTheKeyDirectories_IsRefusedBeforeAnythingIsRead(string path) => Refused(path, "is not in a key directory");

    [Fact]
    public void Read_TheKeyDirectoryItself_IsRefused() => Refused(_keys, "is not in a key directory");

    [Theory]
    [InlineData("/etc/shadow")]
    [InlineData("/dev/zero")]
    public void Read_ALinkInTheKeyDirectoryToAFileOutside_IsRefused(string target)
    {
        File.CreateSymbolicLink(Key("link"), target);

        Refused(Key("link"), $"leads to {target}, outside the key directories");
    }

    [Fact]
    public void Read_ThroughALinkedDirectory_IsRefused()
    {
        Directory.CreateSymbolicLink(Key("etc"), "/etc");

        Refused(Path.Combine(Key("etc"), "shadow"), "leads to /etc/shadow");
    }

    [Fact]
    public async Task Read_ADeviceNodeInTheKeyDirectory_IsRefusedWithoutReading()
    {
        // The same device as /dev/zero (char 1,5), made inside the key directory: endless zeros if anything read it.
        (await ProcessRunner.RunAsync("/bin/mknod", [Key("zero"), "c", "1", "5"])).EnsureSuccess("mknod");

        Refused(Key("zero"), "is not a regular file");
    }

    [Fact]
    public async Task Read_AFifoInTheKeyDirectory_IsRefusedWithoutWaitingForAWriter()
    {
        (await ProcessRunner.RunAsync("/usr/bin/mkfifo", [Key("fifo")])).EnsureSuccess("mkfifo");

        var read = Task.Run(() => Refused(Key("fifo"), "is not a regular file"));
        await read.WaitAsync(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public void Read_AFileOver64KiB_IsRefused()
    {
        File.WriteAllBytes(Key("huge"), new byte[SshKeyFiles.MaxKeyBytes + 1]);

        Refused(Key("huge"), "larger than 64 KiB");
    }

    [Fact]
    public void Read_ADirectoryOrNothing_SaysWhich()
    {
        Directory.CreateDirectory(Key("folder"));

        Refused(Key("folder"), "is a directory");
        Refused(Key("missing"), "does not exist");
    }

    [Theory]
    [InlineData("/data/ssh-keys/id_ed25519", true)]
    [InlineData("/data/ssh-keys", false)]
    [InlineData("/data/ssh-keys-evil/id", false)]
    [InlineData("/data/ssh-keys/../keys/k", false)]
    [InlineData("/data/ssh-keys/id\n", false)]
    [InlineData("relative/id", false)]
    public void CheckLocation_IsAboutTheWrittenPath(string path, bool allowed) =>
        Assert.Equal(allowed, SshKeyFiles.CheckLocation(path, ["/data/ssh-keys"]) is null);

    public Task DisposeAsync()
    {
        _root.Dispose();
        return Task.CompletedTask;
    }
}
