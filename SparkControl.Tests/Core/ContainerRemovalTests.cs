using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using SparkControl.Core.Hosts;
using SparkControl.Core.Remote;
using SparkControl.Core.Secrets;
using SparkControl.Core.Storage;
using SparkControl.Tests.Infrastructure;

namespace SparkControl.Tests.Core;

/// <summary>
/// dockerd removes an <c>--rm</c> container a moment after <c>docker stop</c> returns: until then its name cannot be
/// reused. The panel waits for the name to be free. (The integration tests see the same through the real dockerd, but
/// cannot make the moment last on purpose; this shell can.)
/// </summary>
public sealed class ContainerRemovalTests : IDisposable
{
    private readonly TempDirectory _data = new("sc-removal");
    private readonly ScriptedShell _shell = new();

    private DockerSparkHost Host() =>
        new(new SparkDefinition { Name = "spark-1", Host = "h", User = "u" }, _shell, new SecretStore(new DataDirectory(_data.Path), TimeProvider.System), TimeProvider.System, TimeSpan.FromSeconds(1));

    private static string Inspect(string status, bool autoRemove) =>
        $$$"""[{"Id":"abc","Name":"/vllm_node","State":{"Status":"{{{status}}}","ExitCode":0},"Config":{"Image":"vllm-node"},"HostConfig":{"AutoRemove":{{{(autoRemove ? "true" : "false")}}}}}]""";

    private static CommandResult Ok(string stdout = "") => new(0, stdout, string.Empty, DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch);

    private static CommandResult Fail(string stderr) => new(1, string.Empty, stderr, DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch);

    private static readonly CommandResult NoSuchContainer = Fail("Error: No such object: vllm_node");

    private static readonly LaunchClusterSettings Cluster = new() { Script = "/opt/launch-cluster.sh", ContainerName = "vllm_node" };

    [Fact]
    public async Task LaunchClusterStop_RmContainerStillBeingRemoved_ReturnsOnlyOnceItIsGone()
    {
        _shell.On("launch-cluster.sh", Ok("Cluster stopped."));
        _shell.On("inspect", Ok(Inspect("exited", autoRemove: true)), Ok(Inspect("removing", autoRemove: true)), NoSuchContainer);

        await Host().LaunchClusterStopAsync(Cluster, CancellationToken.None);

        Assert.Equal(3, _shell.Count("inspect"));
        Assert.Equal(0, _shell.Count("rm"));
    }

    [Fact]
    public async Task LaunchClusterStop_StoppedContainerWithoutRm_IsRemovedSoTheNameIsFree()
    {
        _shell.On("launch-cluster.sh", Ok("Cluster stopped."));
        _shell.On("inspect", Ok(Inspect("exited", autoRemove: false)));
        _shell.On("rm", Ok("vllm_node"));

        await Host().LaunchClusterStopAsync(Cluster, CancellationToken.None);

        Assert.Equal(1, _shell.Count("rm"));
    }

    [Fact]
    public async Task LaunchClusterStop_ContainerStillRunning_SaysSoInsteadOfStartingOnTopOfIt()
    {
        _shell.On("launch-cluster.sh", Ok("Cluster stopped."));
        _shell.On("inspect", Ok(Inspect("running", autoRemove: true)));

        var error = await Assert.ThrowsAsync<SparkCommandException>(() => Host().LaunchClusterStopAsync(Cluster, CancellationToken.None));

        Assert.Contains("vllm_node still runs on spark-1", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Error response from daemon: removal of container vllm_node is already in progress")]
    [InlineData("Error response from daemon: No such container: vllm_node")]
    public async Task RemoveContainer_AlreadyGoingOrGone_EndsWithTheNameFree(string stderr)
    {
        _shell.On("rm", Fail(stderr));
        _shell.On("inspect", Ok(Inspect("removing", autoRemove: true)), NoSuchContainer);

        await Host().RemoveContainerAsync("vllm_node", CancellationToken.None);

        Assert.Equal(1, _shell.Count("rm"));
    }

    [Fact]
    public async Task RemoveContainer_OtherFailure_IsReported()
    {
        _shell.On("rm", Fail("Error response from daemon: You cannot remove a running container abc."));

        var error = await Assert.ThrowsAsync<SparkCommandException>(() => Host().RemoveContainerAsync("vllm_node", CancellationToken.None));

        Assert.Contains("You cannot remove a running container", error.Message, StringComparison.Ordinal);
    }

    public void Dispose() => _data.Dispose();

    /// <summary>Answers commands by a word of their argv; the last answer for a word repeats.</summary>
    private sealed class ScriptedShell : IRemoteShell
    {
        private readonly ConcurrentDictionary<string, Queue<CommandResult>> _answers = new(StringComparer.Ordinal);
        private readonly ConcurrentDictionary<string, int> _counts = new(StringComparer.Ordinal);

        public string Spark => "spark-1";

        public void On(string word, params CommandResult[] answers) => _answers[word] = new Queue<CommandResult>(answers);

        public int Count(string word) => _counts.GetValueOrDefault(word);

        public Task<CommandResult> RunAsync(RemoteCommand command, CancellationToken cancellationToken)
        {
            var word = command.Argv[0] == "docker" ? command.Argv[1] : Path.GetFileName(command.Argv[0]);
            _counts.AddOrUpdate(word, 1, (_, n) => n + 1);
            if (!_answers.TryGetValue(word, out var queue))
            {
                throw new InvalidOperationException($"unexpected command: {command}");
            }

            lock (queue)
            {
                return Task.FromResult(queue.Count > 1 ? queue.Dequeue() : queue.Peek());
            }
        }

        public async IAsyncEnumerable<string> StreamAsync(RemoteCommand command, [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            await Task.Yield();
            throw new InvalidOperationException($"unexpected stream: {command}");
#pragma warning disable CS0162 // an iterator needs a yield
            yield break;
#pragma warning restore CS0162
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
