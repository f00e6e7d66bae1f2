using System.Net.Http.Json;
using System.Text.Json;
using SparkControl.Core.Catalog;
using SparkControl.Tests.Infrastructure;
using SparkControl.Core.Launch;

namespace SparkControl.Tests.Integration;

/// <summary>
/// Faults arriving in the middle of a swap, through the running panel, a Spark's sshd of its own (so it can be killed)
/// and the test dockerd: what the operator is told, what keeps serving, and that the next try works.
/// </summary>
[Collection(DockerCollection.Name)]
public sealed class FaultPathTests(DockerdFixture docker) : IAsyncLifetime
{
    private const string Repo = "org/tiny";
    private const long DownloadBytes = 8L << 20;

    private readonly SshdFixture _sshd = new();
    private readonly TempDirectory _data = new("sc-data");
    private readonly TempDirectory _tree = new("sc-tree");
    private readonly int _portA = Tools.FreePort();
    private readonly int _portB = Tools.FreePort();
    private readonly int _portTiny = Tools.FreePort();
    private SparkBin _bin = null!;

    private string Models => _tree.File("models");

    private string Blobs(string cache) => Path.Combine(cache, "hub", "models--org--tiny", "blobs");

    public async Task InitializeAsync()
    {
        await _sshd.InitializeAsync();
        _bin = new SparkBin(docker);
        _bin.SetDockerRunEnvironment(("SPARKCONTROL_SIM_LOAD_SECONDS", "1"));
        await SparkOnDocker.CreateLocalModelAsync(Models, "ft-a");
        await SparkOnDocker.CreateLocalModelAsync(Models, "ft-b");
    }

    private async Task<SparkControlApp> StartAppAsync(string hfCache)
    {
        var tiny = SparkOnDocker.Model("tiny", new HuggingFaceSource(Repo), _portTiny) with { DownloadSizeGiB = DownloadBytes / (double)(1L << 30) };
        await SparkOnDocker.WriteAsync(
            _data.Path, _sshd, SparkOnDocker.Definition(_sshd, _bin, _data.Path, [Models], hfCache),
            [
                SparkOnDocker.Model("ft-a", new LocalSource("spark-1", Path.Combine(Models, "ft-a")), _portA),
                SparkOnDocker.Model("ft-b", new LocalSource("spark-1", Path.Combine(Models, "ft-b")), _portB),
                tiny,
            ]);
        return await SparkControlApp.StartAsync(SparkOnDocker.AppSettings(), _data.Path);
    }

    private static bool Downloaded(JsonElement swap) =>
        SwapApi.Ended(swap) || (swap.TryGetProperty("download", out var download) && download.ValueKind == JsonValueKind.Object && download.GetProperty("bytesDone").GetInt64() > 0);

    /// <summary>Whether the hf stand-in runs on the Spark (this machine), orphaned or not.</summary>
    private bool HfRuns() => ProcFs.AnyCommandLineContains(_bin.File("hf") + " download");

    [Fact]
    public async Task SshdKilledMidDownload_TheSwapFailsSayingSo_ThePreviousModelServesOn_AndTheRetryResumesTheDownload()
    {
        var cache = _tree.File("hf");
        await using var app = await StartAppAsync(cache);
        using var client = app.CreateClient();
        var a = await SwapApi.SwapAsync(client, "ft-a");
        await File.WriteAllTextAsync(_bin.File("hf.hold"), string.Empty);
        var id = await SwapApi.StartAsync(client, "tiny");
        await SwapApi.WaitForAsync(client, id, Downloaded, "the download has begun");

        await _sshd.KillAsync();
        var failed = await SwapApi.WaitForAsync(client, id, SwapApi.Ended, "the swap ends");
        var orphaned = HfRuns();
        var servedMeanwhile = await SparkOnDocker.ServesAsync(_portA, "ft-a");
        File.Delete(_bin.File("hf.hold"));
        await _sshd.RestartAsync();
        await Wait.UntilAsync(() => !HfRuns(), "the panel, connected again, ends the download the cut connection left running", Wait.ContainerTimeout);
        var partial = new FileInfo(Directory.GetFiles(Blobs(cache), "*.incomplete").Single()).Length;
        var retry = await SwapApi.SwapAsync(client, "tiny");

        Assert.Equal("ready", a.GetProperty("phase").GetString());
        Assert.Equal("failed", failed.GetProperty("phase").GetString());
        Assert.Contains($"the connection to spark-1 dropped during the download of {Repo}; what was fetched is kept on spark-1 and the next swap resumes it once spark-1 answers", failed.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.True(orphaned, "hf ran on after its connection was cut");
        Assert.True(servedMeanwhile, "ft-a served on: nothing was stopped before the download");
        Assert.InRange(partial, 1, DownloadBytes - 1);
        Assert.Equal("ready", retry.GetProperty("phase").GetString());
        Assert.True(await SparkOnDocker.ServesAsync(_portTiny, "tiny"));
        // Resumed from the partial blob: the whole file once, not the partial plus a whole download.
        Assert.Equal(DownloadBytes, new FileInfo(Directory.GetFiles(Blobs(cache)).Single(f => !f.EndsWith(".incomplete", StringComparison.Ordinal) && !f.EndsWith("config", StringComparison.Ordinal))).Length);
    }

    [Fact]
    public async Task DiskFillsDuringDownload_TheSwapFailsNamingTheFullDisk_ThePreviousModelServesOn_AndAfterFreeingSpaceTheRetryResumes()
    {
        // A cache disk with room for the model, which something else fills while the model downloads.
        await using var disk = await TmpfsMount.CreateAsync(sizeMiB: 12);
        await using var app = await StartAppAsync(disk.Path);
        using var client = app.CreateClient();
        var a = await SwapApi.SwapAsync(client, "ft-a");
        await File.WriteAllTextAsync(_bin.File("hf.hold"), string.Empty);
        var id = await SwapApi.StartAsync(client, "tiny");
        await SwapApi.WaitForAsync(client, id, Downloaded, "the download has begun");
        var filler = Path.Combine(disk.Path, "filler");
        await FillAsync(filler);

        await File.WriteAllTextAsync(_bin.File("hf.go"), string.Empty);
        var failed = await SwapApi.WaitForAsync(client, id, SwapApi.Ended, "the swap ends");
        var servedMeanwhile = await SparkOnDocker.ServesAsync(_portA, "ft-a");
        File.Delete(filler);
        File.Delete(_bin.File("hf.hold"));
        var retry = await SwapApi.SwapAsync(client, "tiny");

        Assert.Equal("ready", a.GetProperty("phase").GetString());
        Assert.Equal("failed", failed.GetProperty("phase").GetString());
        Assert.Contains($"the disk holding {disk.Path} on spark-1 filled up during the download of {Repo}: free space there and swap again", failed.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.True(servedMeanwhile, "ft-a served on: nothing was stopped before the download");
        Assert.Equal("ready", retry.GetProperty("phase").GetString());
        Assert.True(await SparkOnDocker.ServesAsync(_portTiny, "tiny"));
        Assert.Equal(DownloadBytes, new FileInfo(Directory.GetFiles(Blobs(disk.Path)).Single(f => !f.EndsWith(".incomplete", StringComparison.Ordinal) && !f.EndsWith("config", StringComparison.Ordinal))).Length);
    }

    [Fact]
    public async Task DockerdRestartedMidLoad_ThePanelWaitsForIt_ThenFailsSayingWhat_AndRollsBackToThePreviousModel()
    {
        await using var app = await StartAppAsync(_tree.File("hf"));
        using var client = app.CreateClient();
        var a = await SwapApi.SwapAsync(client, "ft-a");
        // ft-b loads for long enough that dockerd restarts under it; what starts after the restart loads fast again.
        _bin.SetDockerRunEnvironment(("SPARKCONTROL_SIM_LOAD_SECONDS", "60"));
        var id = await SwapApi.StartAsync(client, "ft-b");
        await SwapApi.WaitForAsync(client, id, s => s.GetProperty("phase").GetString() == "loading" || SwapApi.Ended(s), "ft-b is loading");

        JsonElement waiting = default;
        await docker.RestartAsync(async () =>
        {
            _bin.SetDockerRunEnvironment(("SPARKCONTROL_SIM_LOAD_SECONDS", "1"));
            waiting = await SwapApi.WaitForAsync(client, id, s => s.GetProperty("message").GetString()!.Contains("does not answer", StringComparison.Ordinal) || SwapApi.Ended(s), "the panel sees dockerd gone");
        });
        // The failed swap shows as ended a moment before its rollback is started and linked to it.
        var failed = await SwapApi.WaitForAsync(client, id, s => SwapApi.Ended(s) && s.TryGetProperty("rolledBackBy", out var by) && by.ValueKind == JsonValueKind.String, "the swap ends and its rollback starts");
        var back = await SwapApi.WaitForAsync(client, failed.GetProperty("rolledBackBy").GetString()!, SwapApi.Ended, "the rollback ends");

        Assert.Equal("ready", a.GetProperty("phase").GetString());
        Assert.Equal("loading", waiting.GetProperty("phase").GetString());
        Assert.Contains("dockerd on spark-1 does not answer (stopped or restarting)", waiting.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal("failed", failed.GetProperty("phase").GetString());
        Assert.StartsWith("dockerd on spark-1 stopped answering while ft-b loaded, and the container did not survive its restart: ", failed.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal("ready", back.GetProperty("phase").GetString());
        Assert.Equal("ft-a", back.GetProperty("modelId").GetString());
        Assert.True(await SparkOnDocker.ServesAsync(_portA, "ft-a"));
    }

    /// <summary>Writes zeros until the file system says it is full.</summary>
    private static async Task FillAsync(string path)
    {
        await using var file = File.Create(path);
        var block = new byte[64 * 1024];
        try
        {
            while (true)
            {
                await file.WriteAsync(block);
                await file.FlushAsync();
            }
        }
        catch (IOException)
        {
            // No space left on device: the disk is full.
        }
    }

    public async Task DisposeAsync()
    {
        await docker.DockerAsync(["rm", "-f", LaunchSpecs.ModelContainerName], check: false);
        await _sshd.DisposeAsync();
        _bin.Dispose();
        _data.Dispose();
        _tree.Dispose();
    }
}
