using SparkControl.Core.Configuration;
using SparkControl.Core.Remote;
using SparkControl.Core.Secrets;
using SparkControl.Tests.Infrastructure;

namespace SparkControl.Tests.Remote;

[Collection(SshdCollection.Name)]
public sealed class RemoteShellTests(SshdFixture sshd)
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task RunAsync_Command_ReturnsExitCodeOutputsAndTimes()
    {
        await using var spark = new SshTestSpark(sshd);

        var result = await spark.Shell.RunAsync(RemoteCommand.Read("sh", "-c", "echo out; echo err >&2; exit 3"), CancellationToken.None);

        Assert.Equal(3, result.ExitCode);
        Assert.Equal("out\n", result.Stdout);
        Assert.Equal("err\n", result.Stderr);
        Assert.True(result.ExitTime >= result.StartTime);
        Assert.Equal(ConnectionState.Connected, spark.Tracker.Find("spark-t")!.State);
        var error = Assert.Throws<SparkCommandException>(() => result.EnsureSuccess("spark-t", "the test command"));
        Assert.Equal("the test command failed on spark-t (exit 3): err", error.Message);
    }

    [Fact]
    public async Task RunAsync_WithoutInput_ACommandThatReadsStdinSeesEndOfFile()
    {
        await using var spark = new SshTestSpark(sshd);

        // cat would wait on an open, silent stdin until the timeout.
        var result = await spark.Shell.RunAsync(RemoteCommand.Read("cat") with { Timeout = TimeSpan.FromSeconds(20) }, CancellationToken.None);

        Assert.Equal(0, result.ExitCode);
        Assert.Equal(string.Empty, result.Stdout);
    }

    [Fact]
    public async Task RunAsync_QuickCommands_NeverFailOnTheirOwnSpeed()
    {
        // No retries: a command that ends before the panel has opened its input must still be a plain success.
        await using var spark = new SshTestSpark(sshd, options: new SshOptions { RetryAttempts = 0, CircuitBreakDuration = TimeSpan.FromSeconds(2) });

        var results = await Task.WhenAll(Enumerable.Range(0, 500).Select(async i =>
            await spark.Shell.RunAsync(i % 2 == 0 ? RemoteCommand.Action("true") : RemoteCommand.Action("cat") with { Stdin = $"{i}\n" }, CancellationToken.None)));

        Assert.All(results.Select((r, i) => (r, i)), x => Assert.Equal((0, x.i % 2 == 0 ? string.Empty : $"{x.i}\n"), (x.r.ExitCode, x.r.Stdout)));
    }

    [Fact]
    public async Task RunAsync_Stdin_ReachesTheCommandAndNotItsCommandLine()
    {
        await using var spark = new SshTestSpark(sshd);
        var secret = $"s3cr3t-{Guid.NewGuid():N}";
        var command = RemoteCommand.Action("sh", "-c", "IFS= read -r value; printf '%s' \"$value\" | sha256sum | cut -c1-64; cat /proc/$$/cmdline | tr '\\0' ' '") with { Stdin = secret + "\n" };

        var result = await spark.Shell.RunAsync(command, CancellationToken.None);

        var lines = result.Stdout.Split('\n');
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(secret))), lines[0]);
        Assert.DoesNotContain(secret, result.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain(secret, command.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task StreamAsync_Lines_ArriveWhileTheCommandRuns()
    {
        await using var spark = new SshTestSpark(sshd);
        using var directory = new TempDirectory("sc-stream");
        var flag = directory.File("go");
        // The command waits for a file the test makes only after it has seen the first line: buffered output never ends.
        var command = RemoteCommand.Read("sh", "-c", "echo first; while [ ! -e \"$1\" ]; do sleep 0.05; done; echo second", "sc-stream", flag);
        using var timeout = new CancellationTokenSource(Generous);
        var seen = new List<string>();

        await foreach (var line in spark.Shell.StreamAsync(command, timeout.Token))
        {
            seen.Add(line);
            if (line == "first")
            {
                await File.WriteAllTextAsync(flag, string.Empty);
            }
        }

        Assert.Equal(["first", "second"], seen);
    }

    [Fact]
    public async Task StreamAsync_NonZeroExit_ThrowsAfterTheLastLine()
    {
        await using var spark = new SshTestSpark(sshd);
        var lines = new List<string>();

        var error = await Assert.ThrowsAsync<SparkCommandException>(async () =>
        {
            await foreach (var line in spark.Shell.StreamAsync(RemoteCommand.Read("sh", "-c", "echo one; echo broken >&2; exit 4"), CancellationToken.None))
            {
                lines.Add(line);
            }
        });

        Assert.Equal(["one"], lines);
        Assert.Equal(4, error.ExitCode);
        Assert.Contains("broken", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_EndlessOutput_IsStoppedAtMaxOutputBytes_AndSaysWhy()
    {
        await using var spark = new SshTestSpark(sshd, options: new SshOptions { MaxOutputBytes = 64 * 1024 });
        var marker = UniqueSleep();

        // yes never ends: read to its end, it would fill the panel's memory.
        var error = await Assert.ThrowsAsync<SparkCommandException>(() =>
            spark.Shell.RunAsync(RemoteCommand.Read("sh", "-c", "sleep \"$1\" & exec yes", "sh", marker) with { Timeout = Generous }, CancellationToken.None));

        Assert.Contains("printed more than 64 KiB", error.Message, StringComparison.Ordinal);
        Assert.Contains("SparkControl:Ssh:MaxOutputBytes", error.Message, StringComparison.Ordinal);
        await Wait.UntilAsync(() => ProcessesWith(marker) == 0, "the command's process group is gone", TimeSpan.FromSeconds(20));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task RunAsync_OutputOfExactlyMaxOutputBytes_IsKeptWhole(bool onStderr)
    {
        await using var spark = new SshTestSpark(sshd, options: new SshOptions { MaxOutputBytes = 64 * 1024 });

        var result = await spark.Shell.RunAsync(RemoteCommand.Read("sh", "-c", onStderr ? "head -c 65536 /dev/zero | tr '\\0' e >&2" : "head -c 65536 /dev/zero | tr '\\0' o"), CancellationToken.None);

        Assert.Equal(0, result.ExitCode);
        Assert.Equal(65536, (onStderr ? result.Stderr : result.Stdout).Length);
    }

    [Fact]
    public async Task RunAsync_TooMuchOnStderr_ThenStillRunning_IsStoppedToo()
    {
        await using var spark = new SshTestSpark(sshd, options: new SshOptions { MaxOutputBytes = 64 * 1024 });

        var error = await Assert.ThrowsAsync<SparkCommandException>(() =>
            spark.Shell.RunAsync(RemoteCommand.Read("sh", "-c", "head -c 1000000 /dev/zero | tr '\\0' e >&2; sleep 600"), CancellationToken.None));

        Assert.Contains("printed more than 64 KiB", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StreamAsync_ALineWithoutEnd_IsCutAndTheNextLinesStillCome()
    {
        await using var spark = new SshTestSpark(sshd);
        var lines = new List<string>();

        await foreach (var line in spark.Shell.StreamAsync(RemoteCommand.Read("sh", "-c", "head -c 1000000 /dev/zero | tr '\\0' x; printf '\\nnext\\r\\nlast\\rend'"), CancellationToken.None))
        {
            lines.Add(line);
        }

        Assert.Equal(4, lines.Count);
        Assert.StartsWith(new string('x', 16 * 1024) + " … [line cut at 16,384 characters]", lines[0], StringComparison.Ordinal);
        Assert.Equal(["next", "last", "end"], lines[1..]);
    }

    [Fact]
    public async Task Streams_CannotTakeTheControlChannels_AndAStreamPastItsCapSaysWhy()
    {
        await using var spark = new SshTestSpark(sshd, options: new SshOptions { MaxChannelsPerSpark = 4, MaxStreamsPerSpark = 2, ChannelWaitTimeout = TimeSpan.FromSeconds(2) });
        using var stop = new CancellationTokenSource();
        var opened = new List<Task>();
        var firstLines = new List<TaskCompletionSource>();
        try
        {
            // Two never-ending streams (as two log views) hold every stream channel.
            for (var i = 0; i < 2; i++)
            {
                var first = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                firstLines.Add(first);
                opened.Add(Task.Run(async () =>
                {
                    await foreach (var _ in spark.Shell.StreamAsync(RemoteCommand.Read("sh", "-c", "echo open; exec sleep 600"), stop.Token))
                    {
                        first.TrySetResult();
                    }
                }));
            }

            await Task.WhenAll(firstLines.Select(f => f.Task)).WaitAsync(Generous);

            // Control commands still run, more of them than there are control channels.
            var results = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => spark.Shell.RunAsync(RemoteCommand.Read("true"), CancellationToken.None))).WaitAsync(Generous);
            var refused = await Assert.ThrowsAsync<SparkCommandException>(async () =>
            {
                await foreach (var _ in spark.Shell.StreamAsync(RemoteCommand.Read("sh", "-c", "echo third; exec sleep 600"), stop.Token))
                {
                }
            });

            Assert.All(results, r => Assert.Equal(0, r.ExitCode));
            Assert.Contains("already has 2 streams open", refused.Message, StringComparison.Ordinal);
            Assert.Contains("SparkControl:Ssh:MaxStreamsPerSpark", refused.Message, StringComparison.Ordinal);
        }
        finally
        {
            await stop.CancelAsync();
            await Task.WhenAll(opened.Select(t => t.ContinueWith(_ => { }, TaskScheduler.Default)));
        }
    }

    [Fact]
    public async Task RunAsync_Cancelled_KillsTheRemoteProcess()
    {
        await using var spark = new SshTestSpark(sshd);
        var marker = UniqueSleep();
        using var cts = new CancellationTokenSource();
        var run = spark.Shell.RunAsync(RemoteCommand.Action("sleep", marker), cts.Token);
        await Wait.UntilAsync(() => ProcessesWith(marker) > 0, "the remote sleep started");

        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
        await Wait.UntilAsync(() => ProcessesWith(marker) == 0, "the remote sleep is gone", TimeSpan.FromSeconds(20));
    }

    [Fact]
    public async Task StreamAsync_Cancelled_KillsTheWholeProcessGroup()
    {
        await using var spark = new SshTestSpark(sshd);
        var marker = UniqueSleep();
        using var cts = new CancellationTokenSource();

        var stream = Task.Run(async () =>
        {
            // The sleep is a child of the shell: killing only the shell would leave it behind.
            await foreach (var line in spark.Shell.StreamAsync(RemoteCommand.Read("sh", "-c", $"echo started; sleep {marker}; echo never"), cts.Token))
            {
                Assert.Equal("started", line);
            }
        });
        await Wait.UntilAsync(() => ProcessesWith(marker) > 0, "the remote sleep started");
        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => stream);
        await Wait.UntilAsync(() => ProcessesWith(marker) == 0, "the remote sleep is gone", TimeSpan.FromSeconds(20));
    }

    [Fact]
    public async Task RunAsync_PastItsTimeout_FailsCleanlyAndStopsTheProcess()
    {
        await using var spark = new SshTestSpark(sshd);
        var marker = UniqueSleep();

        var error = await Assert.ThrowsAsync<RemoteCommandTimeoutException>(() =>
            spark.Shell.RunAsync(RemoteCommand.Action("sleep", marker) with { Timeout = TimeSpan.FromSeconds(1) }, CancellationToken.None));

        Assert.Contains($"'sleep {marker}' on spark-t did not finish within 1 s", error.Message, StringComparison.Ordinal);
        await Wait.UntilAsync(() => ProcessesWith(marker) == 0, "the timed-out sleep is gone", TimeSpan.FromSeconds(20));
        Assert.Equal(0, (await spark.Shell.RunAsync(RemoteCommand.Read("true"), CancellationToken.None)).ExitCode);
    }

    [Fact]
    public async Task StreamAsync_PastItsTimeout_FailsCleanlyAndStopsTheWholeProcessGroup()
    {
        await using var spark = new SshTestSpark(sshd);
        var marker = UniqueSleep();
        var lines = new List<string>();

        // The sleep is a child of the shell: only killing the process group removes it.
        var error = await Assert.ThrowsAsync<RemoteCommandTimeoutException>(async () =>
        {
            var command = RemoteCommand.Read("sh", "-c", $"echo started; sleep {marker}; echo never") with { Timeout = TimeSpan.FromSeconds(2) };
            await foreach (var line in spark.Shell.StreamAsync(command, CancellationToken.None))
            {
                lines.Add(line);
            }
        }).WaitAsync(Generous);

        Assert.Equal(["started"], lines);
        Assert.Contains("on spark-t did not finish within 2 s", error.Message, StringComparison.Ordinal);
        await Wait.UntilAsync(() => ProcessesWith(marker) == 0, "the timed-out sleep is gone", TimeSpan.FromSeconds(20));
    }

    [Fact]
    public async Task RunAsync_ManyAtOnce_ShareOneConnection()
    {
        await using var spark = new SshTestSpark(sshd);
        var before = AcceptedLogins();

        var results = await Task.WhenAll(Enumerable.Range(0, 24).Select(i => spark.Shell.RunAsync(RemoteCommand.Read("echo", i.ToString(System.Globalization.CultureInfo.InvariantCulture)), CancellationToken.None)));

        Assert.Equal(Enumerable.Range(0, 24).Select(i => $"{i}\n"), results.Select(r => r.Stdout));
        Assert.Equal(before + 1, AcceptedLogins());
    }

    [Fact]
    public async Task RunAsync_PathPrefix_FindsTheSparksOwnPrograms()
    {
        using var bin = new TempDirectory("sc-bin");
        SshdFixture.WriteScript(bin.File("only-here"), "#!/bin/sh\necho found \"$@\"\n");
        await using var spark = new SshTestSpark(sshd, pathPrefix: [bin.Path]);

        var result = await spark.Shell.RunAsync(RemoteCommand.Read("only-here", "it"), CancellationToken.None);

        Assert.Equal("found it\n", result.Stdout);
    }

    [Fact]
    public async Task FirstContact_UnapprovedKey_RunsNothingUntilApproved()
    {
        await using var spark = new SshTestSpark(sshd, pinHostKey: false);
        using var scratch = new TempDirectory();
        var proof = scratch.File("ran");
        var expected = (await ProcessRunner.RunAsync(Tools.SshKeygen, ["-lf", sshd.HostKeyPath + ".pub"])).Stdout.Split(' ')[1];

        var error = await Assert.ThrowsAsync<HostKeyNotApprovedException>(() => spark.Shell.RunAsync(RemoteCommand.Action("touch", proof), CancellationToken.None));

        Assert.Equal(expected, error.Fingerprint);
        Assert.StartsWith("SHA256:", error.Fingerprint, StringComparison.Ordinal);
        Assert.False(File.Exists(proof));
        Assert.Equal(ConnectionState.HostKeyNotApproved, spark.Tracker.Find("spark-t")!.State);
        var pending = Assert.Single(spark.HostKeys.Pending);
        Assert.Equal(expected, pending.Fingerprint);

        await spark.HostKeys.ApproveAsync("127.0.0.1", sshd.Port, expected, CancellationToken.None);
        await spark.Shell.RunAsync(RemoteCommand.Action("touch", proof), CancellationToken.None);

        Assert.True(File.Exists(proof));
        Assert.Empty(spark.HostKeys.Pending);
        Assert.Contains($"[127.0.0.1]:{sshd.Port} ssh-ed25519 ", await File.ReadAllTextAsync(spark.Data.Resolve(HostKeyStore.FileName)), StringComparison.Ordinal);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(spark.Data.Resolve(HostKeyStore.FileName)));
    }

    [Fact]
    public async Task HostKeyStore_ChangedKey_IsAVerdictWithBothFingerprints()
    {
        using var other = new TempDirectory();
        await ProcessRunner.RunAsync(Tools.SshKeygen, ["-q", "-t", "ed25519", "-N", string.Empty, "-f", other.File("key")]);
        var otherKey = (await File.ReadAllTextAsync(other.File("key.pub"))).Split(' ');
        await File.WriteAllTextAsync(other.File(HostKeyStore.FileName), $"[127.0.0.1]:{sshd.Port} {otherKey[0]} {otherKey[1]}\n");
        var store = new HostKeyStore(new SparkControl.Core.Storage.DataDirectory(other.Path), TimeProvider.System);
        var pinned = (await ProcessRunner.RunAsync(Tools.SshKeygen, ["-lf", other.File("key.pub")])).Stdout.Split(' ')[1];
        var presented = (await ProcessRunner.RunAsync(Tools.SshKeygen, ["-lf", sshd.HostKeyPath + ".pub"])).Stdout.Split(' ')[1];

        var check = store.Check("127.0.0.1", sshd.Port, "ssh-ed25519", Convert.FromBase64String(sshd.HostPublicKey.Split(' ')[1]));

        Assert.Equal(HostKeyVerdict.Changed, check.Verdict);
        Assert.Equal(presented, check.Fingerprint);
        Assert.Equal(pinned, check.Previous);
        Assert.Equal(pinned, store.PinnedFingerprint("127.0.0.1", sshd.Port));
        Assert.Equal(presented, store.PendingFor("127.0.0.1", sshd.Port)!.Fingerprint);
    }

    [Fact]
    public async Task ChangedKey_ThroughTheShell_RunsNothingAndSaysWhy()
    {
        using var other = new TempDirectory();
        await ProcessRunner.RunAsync(Tools.SshKeygen, ["-q", "-t", "ed25519", "-N", string.Empty, "-f", other.File("key")]);
        var otherKey = (await File.ReadAllTextAsync(other.File("key.pub"))).Split(' ');
        using var data = new TempDirectory();
        await File.WriteAllTextAsync(Path.Combine(data.Path, HostKeyStore.FileName), $"[127.0.0.1]:{sshd.Port} {otherKey[0]} {otherKey[1]}\n");
        await using var spark = new SshTestSpark(sshd, pinHostKey: false, dataDirectory: data.Path);
        var proof = data.File("ran");
        var pinnedFingerprint = (await ProcessRunner.RunAsync(Tools.SshKeygen, ["-lf", other.File("key.pub")])).Stdout.Split(' ')[1];
        var presented = (await ProcessRunner.RunAsync(Tools.SshKeygen, ["-lf", sshd.HostKeyPath + ".pub"])).Stdout.Split(' ')[1];

        var error = await Assert.ThrowsAsync<HostKeyNotApprovedException>(() => spark.Shell.RunAsync(RemoteCommand.Action("touch", proof), CancellationToken.None));

        Assert.True(error.Changed);
        Assert.Contains(presented, error.Message, StringComparison.Ordinal);
        Assert.Contains(pinnedFingerprint, error.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(proof));
        Assert.Equal(ConnectionState.HostKeyChanged, spark.Tracker.Find("spark-t")!.State);
    }

    [Fact]
    public async Task Passphrase_ProtectedKey_ConnectsWithTheStoredSecretOnly()
    {
        using var keys = new TempDirectory();
        var key = keys.File("id_passphrase");
        await ProcessRunner.RunAsync(Tools.SshKeygen, ["-q", "-t", "ed25519", "-N", "correct horse", "-f", key]);
        await AuthorizeAsync(key + ".pub");
        await using var spark = new SshTestSpark(sshd, keyPath: key);

        var missing = await Assert.ThrowsAsync<SparkUnreachableException>(() => spark.Shell.RunAsync(RemoteCommand.Read("true"), CancellationToken.None));
        await spark.Secrets.SetAsync(SecretStore.PassphraseFor("spark-t"), "correct horse", CancellationToken.None);
        await using var again = new SshTestSpark(sshd, keyPath: key, dataDirectory: spark.Data.Path);
        var result = await again.Shell.RunAsync(RemoteCommand.Read("echo", "in"), CancellationToken.None);

        Assert.Contains("passphrase", missing.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("correct horse", missing.Message, StringComparison.Ordinal);
        Assert.Equal("in\n", result.Stdout);
    }

    [Theory]
    [InlineData("/etc/shadow", "leads to /etc/shadow")]
    [InlineData("/dev/zero", "leads to /dev/zero")]
    public async Task KeyPath_LinkedOutOfTheKeyDirectory_IsRefusedBeforeReadingOrConnecting(string target, string because)
    {
        using var keys = new TempDirectory();
        var key = keys.File("id_ed25519");
        File.CreateSymbolicLink(key, target);
        var loginsBefore = AcceptedLogins();
        await using var spark = new SshTestSpark(sshd, keyPath: key);

        var error = await Assert.ThrowsAsync<SparkUnreachableException>(() => spark.Shell.RunAsync(RemoteCommand.Read("true"), CancellationToken.None));

        Assert.Contains(because, error.Message, StringComparison.Ordinal);
        Assert.Equal(ConnectionState.AuthenticationFailed, spark.Tracker.Find("spark-t")!.State);
        Assert.Equal(loginsBefore, AcceptedLogins());
    }

    [Fact]
    public async Task RsaKey_Connects()
    {
        using var keys = new TempDirectory();
        var key = keys.File("id_rsa");
        await ProcessRunner.RunAsync(Tools.SshKeygen, ["-q", "-t", "rsa", "-b", "3072", "-N", string.Empty, "-f", key]);
        await AuthorizeAsync(key + ".pub");
        await using var spark = new SshTestSpark(sshd, keyPath: key);

        var result = await spark.Shell.RunAsync(RemoteCommand.Read("echo", "rsa"), CancellationToken.None);

        Assert.Equal("rsa\n", result.Stdout);
    }

    private async Task AuthorizeAsync(string publicKey)
    {
        var authorized = Path.Combine(Path.GetDirectoryName(sshd.ClientKeyPath)!, "authorized_keys");
        var line = await File.ReadAllTextAsync(publicKey);
        lock (sshd)
        {
            if (!File.ReadAllText(authorized).Contains(line, StringComparison.Ordinal))
            {
                File.AppendAllText(authorized, line);
            }
        }
    }

    private int AcceptedLogins() => File.ReadAllText(sshd.LogPath).Split('\n').Count(l => l.StartsWith("Accepted publickey", StringComparison.Ordinal));

    private static string UniqueSleep() => $"600.{Random.Shared.Next(100000, 999999)}";

    /// <summary>Local processes whose command line holds <paramref name="marker"/> (the sshd runs on this machine).</summary>
    private static int ProcessesWith(string marker)
    {
        var count = 0;
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            try
            {
                var cmdline = File.ReadAllText(Path.Combine(directory, "cmdline")).Replace('\0', ' ');
                if (cmdline.StartsWith("sleep ", StringComparison.Ordinal) && cmdline.Contains(marker, StringComparison.Ordinal))
                {
                    count++;
                }
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }

        return count;
    }
}
