using SparkControl.Core.Configuration;
using SparkControl.Core.Remote;
using SparkControl.Tests.Infrastructure;

namespace SparkControl.Tests.Remote;

[Collection(SshdCollection.Name)]
public sealed class CircuitBreakerTests(SshdFixture sshd)
{
    private static SshOptions Options => new()
    {
        RetryAttempts = 0,
        CircuitBreakerFailures = 3,
        CircuitBreakDuration = TimeSpan.FromSeconds(2),
        ConnectTimeout = TimeSpan.FromSeconds(5),
    };

    [Fact]
    public async Task DeadSpark_OpensItsCircuitWhileAnotherKeepsWorking_AndClosesAfterRecovery()
    {
        var deadPort = Tools.FreePort();
        await using var alive = new SshTestSpark(sshd, name: "alive");
        await using var dead = new SshTestSpark(sshd, name: "dead", port: deadPort, options: Options);

        for (var i = 0; i < 3; i++)
        {
            var failure = await Assert.ThrowsAsync<SparkUnreachableException>(() => dead.Shell.RunAsync(RemoteCommand.Read("true"), CancellationToken.None));
            Assert.Contains($"cannot connect to 127.0.0.1:{deadPort}", failure.Message, StringComparison.Ordinal);
        }

        var fast = await Assert.ThrowsAsync<SparkUnreachableException>(() => dead.Shell.RunAsync(RemoteCommand.Read("true"), CancellationToken.None));
        var stillWorking = await alive.Shell.RunAsync(RemoteCommand.Read("echo", "fine"), CancellationToken.None);

        Assert.Contains("circuit open", fast.Message, StringComparison.Ordinal);
        Assert.Equal(ConnectionState.CircuitOpen, dead.Tracker.Find("dead")!.State);
        Assert.Equal("fine\n", stillWorking.Stdout);

        // The Spark comes back (same host key, same port): after the break one call is let through, and it closes.
        var back = new SshdFixture(sessionPathFromBin: false, port: deadPort, sameIdentityAs: sshd);
        await back.InitializeAsync();
        try
        {
            CommandResult? result = null;
            await Wait.UntilAsync(async () =>
            {
                try
                {
                    result = await dead.Shell.RunAsync(RemoteCommand.Read("echo", "back"), CancellationToken.None);
                    return true;
                }
                catch (SparkUnreachableException)
                {
                    return false;
                }
            }, "the recovered Spark answers", TimeSpan.FromSeconds(20));

            Assert.Equal("back\n", result!.Stdout);
            Assert.Equal(ConnectionState.Connected, dead.Tracker.Find("dead")!.State);
        }
        finally
        {
            await back.DisposeAsync();
        }
    }

    [Fact]
    public async Task ConnectFailure_BeforeAnythingStarted_IsRetriedWithBackoff()
    {
        // A port that accepts and hangs up at once: every attempt fails before a command could start.
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        var accepted = 0;
        using var stop = new CancellationTokenSource();
        var accepting = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                using var client = await listener.AcceptTcpClientAsync(stop.Token);
                Interlocked.Increment(ref accepted);
                client.Client.Close(0);
            }
        });
        await using var flaky = new SshTestSpark(sshd, name: "flaky", port: port, options: new SshOptions { RetryAttempts = 2, RetryDelay = TimeSpan.FromMilliseconds(50), CircuitBreakerFailures = 10 });

        await Assert.ThrowsAsync<SparkUnreachableException>(() => flaky.Shell.RunAsync(RemoteCommand.Action("touch", "/tmp/never"), CancellationToken.None));
        await stop.CancelAsync();

        Assert.Equal(3, Volatile.Read(ref accepted));
    }

    [Fact]
    public async Task ConnectionDroppedMidCommand_RetriesOnlyIdempotentCommands()
    {
        var server = new SshdFixture();
        await server.InitializeAsync();
        try
        {
            await using var spark = new SshTestSpark(server, name: "dropping", options: new SshOptions { RetryAttempts = 2, RetryDelay = TimeSpan.FromMilliseconds(50), CircuitBreakerFailures = 10 });
            using var scratch = new TempDirectory();
            var runs = scratch.File("runs");
            var script = $"echo run >> {runs}; if [ $(wc -l < {runs}) -gt 1 ]; then echo again; else sleep 30; fi";

            var action = spark.Shell.RunAsync(RemoteCommand.Action("sh", "-c", script), CancellationToken.None);
            await Wait.UntilAsync(() => File.Exists(runs), "the action started");
            await DropConnectionsAsync(server);
            var dropped = await Assert.ThrowsAsync<SparkUnreachableException>(() => action);

            File.Delete(runs);
            var read = spark.Shell.RunAsync(RemoteCommand.Read("sh", "-c", script), CancellationToken.None);
            await Wait.UntilAsync(() => File.Exists(runs), "the read started");
            await DropConnectionsAsync(server);
            var result = await read;

            Assert.Contains("dropped while", dropped.Message, StringComparison.Ordinal);
            Assert.Equal("again\n", result.Stdout);
            Assert.Equal(2, File.ReadAllLines(runs).Length);
        }
        finally
        {
            await server.DisposeAsync();
        }
    }

    /// <summary>Kills the per-connection sshd processes of <paramref name="server"/>: the network drops under a running command.</summary>
    private static async Task DropConnectionsAsync(SshdFixture server)
    {
        var listener = server.ProcessId;
        foreach (var directory in Directory.EnumerateDirectories("/proc").Where(d => int.TryParse(Path.GetFileName(d), out _)))
        {
            try
            {
                var stat = await File.ReadAllTextAsync(Path.Combine(directory, "stat"));
                var parent = int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
                if (parent == listener)
                {
                    await ProcessRunner.RunAsync("/bin/kill", ["-KILL", Path.GetFileName(directory)]);
                }
            }
            catch (IOException)
            {
            }
        }
    }
}
