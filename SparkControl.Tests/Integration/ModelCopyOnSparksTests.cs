using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using SparkControl.Core.Hosts;
using SparkControl.Core.Remote;
using SparkControl.Core.Sparks;
using SparkControl.Tests.Infrastructure;
using SparkControl.Tests.Shell;
using static Microsoft.Playwright.Assertions;

namespace SparkControl.Tests.Integration;

/// <summary>
/// "Copy to the other Spark" with real parts: two Sparks, each an sshd on loopback, the second in a mount namespace of its
/// own where the model root is another directory (its own disk behind the same path). The panel runs rsync on the Spark
/// that has the model, which reaches the other over SSH at its link address (the head's launchCluster nodes; the
/// session's ssh is given a config that maps that address to the second sshd, as a Spark's ~/.ssh/config would).
/// </summary>
[Collection(BrowserCollection.Name)]
public sealed class ModelCopyOnSparksTests(BrowserFixture browser) : BrowserTest(browser)
{
    private const string LinkHead = "10.99.0.1";
    private const string LinkWorker = "10.99.0.2";
    private readonly TempDirectory _data = new("sc-data");
    private readonly TempDirectory _tree = new("sc-tree");
    private SshdFixture _head = null!;
    private SshdFixture _worker = null!;

    private string Root => _tree.File("models");

    /// <summary>What the second Spark has at <see cref="Root"/>.</summary>
    private string WorkerDisk => _tree.File("worker-disk");

    public override async Task InitializeAsync()
    {
        Directory.CreateDirectory(Root);
        Directory.CreateDirectory(WorkerDisk);
        _head = new SshdFixture();
        await _head.InitializeAsync();
        _worker = new SshdFixture(sessionPathFromBin: false, sameIdentityAs: _head, mountOver: (WorkerDisk, Root));
        await _worker.InitializeAsync();

        // The head's sessions reach the worker's link address through its sshd: ssh is given a config saying so.
        var config = _tree.File("ssh_config");
        await File.WriteAllTextAsync(config, $"""
            Host {LinkWorker}
              HostName 127.0.0.1
              Port {_worker.Port}
              User {_worker.User}
              IdentityFile {_head.ClientKeyPath}
              IdentitiesOnly yes
              StrictHostKeyChecking no
              UserKnownHostsFile /dev/null
              LogLevel ERROR
            """);
        File.SetUnixFileMode(config, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        SshdFixture.WriteScript(Path.Combine(_head.BinDirectory, "ssh"), $"#!/bin/sh\nexec /usr/bin/ssh -F {config} \"$@\"\n");

        var key = _head.HostPublicKey.Split(' ');
        await File.WriteAllTextAsync(Path.Combine(_data.Path, HostKeyStore.FileName), $"[127.0.0.1]:{_head.Port} {key[0]} {key[1]}\n[127.0.0.1]:{_worker.Port} {key[0]} {key[1]}\n");
        SparkDefinition Spark(string name, SshdFixture sshd) => new()
        {
            Name = name, Host = "127.0.0.1", Port = sshd.Port, User = sshd.User, KeyPath = _head.InstallClientKey(_data.Path),
            PathPrefix = [sshd.BinDirectory], Gpus = "none", ModelRoots = [Root],
        };
        var head = Spark("spark-1", _head) with { LaunchCluster = new LaunchClusterSettings { Script = "/opt/launch-cluster.sh", Nodes = [LinkHead, LinkWorker], ContainerName = "vllm_node" } };
        await File.WriteAllTextAsync(Path.Combine(_data.Path, SparksYaml.FileName), SparksYaml.Write([head, Spark("spark-2", _worker)]));
        await SparkOnDocker.CreateLocalModelAsync(Root, "ft-both");
        await File.WriteAllBytesAsync(Path.Combine(Root, "ft-both", "model-00002.safetensors"), System.Security.Cryptography.RandomNumberGenerator.GetBytes(3_000_000));
    }

    private Task<SparkControlApp> StartAppAsync() => SparkControlApp.StartAsync(SparkOnDocker.AppSettings(), _data.Path);

    private string Model => Path.Combine(Root, "ft-both");

    [Fact]
    public async Task OnOneSparkOnly_TheCheckOffersTheCopy_RsyncCarriesIt_ThenTheModelIsAddedOnBoth()
    {
        await using var app = await StartAppAsync();
        using var client = app.CreateClient();

        var before = await (await client.PostAsJsonAsync("/api/models/check-cluster", new { spark = "spark-1", path = Model })).Content.ReadFromJsonAsync<JsonElement>();
        using var refused = await client.PostAsJsonAsync("/api/models", new { kind = "local", spark = "spark-1", path = Model, placement = "cluster" });
        using var start = await client.PostAsJsonAsync("/api/models/copies", new { from = "spark-1", to = "spark-2", path = Model });
        Assert.True(start.StatusCode == HttpStatusCode.Accepted, await start.Content.ReadAsStringAsync());
        var started = await start.Content.ReadFromJsonAsync<JsonElement>();
        JsonElement copy = default;
        await Wait.UntilAsync(async () =>
        {
            copy = await client.GetFromJsonAsync<JsonElement>(start.Headers.Location!.ToString());
            return copy.GetProperty("phase").GetString() != "copying";
        }, "the copy ends", TimeSpan.FromSeconds(60));
        var after = await (await client.PostAsJsonAsync("/api/models/check-cluster", new { spark = "spark-1", path = Model })).Content.ReadFromJsonAsync<JsonElement>();
        using var added = await client.PostAsJsonAsync("/api/models", new { kind = "local", spark = "spark-1", path = Model, placement = "cluster" });

        Assert.Contains("copy it to spark-2 first", before.GetProperty("problems")[0].GetString(), StringComparison.Ordinal);
        Assert.Equal(("spark-1", "spark-2"), (before.GetProperty("copyFrom").GetString(), before.GetProperty("copyTo").GetString()));
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Equal(LinkWorker, started.GetProperty("link").GetString());
        Assert.True(copy.GetProperty("phase").GetString() == "done", copy.ToString());
        Assert.Equal(copy.GetProperty("totalBytes").GetInt64(), copy.GetProperty("doneBytes").GetInt64());
        // The second Spark's own disk holds the same files, byte for byte; the head's directory is untouched.
        foreach (var file in Directory.GetFiles(Model))
        {
            Assert.Equal(await File.ReadAllBytesAsync(file), await File.ReadAllBytesAsync(Path.Combine(WorkerDisk, "ft-both", Path.GetFileName(file))));
        }

        Assert.Empty(after.GetProperty("problems").EnumerateArray());
        Assert.True(added.StatusCode == HttpStatusCode.Created, await added.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Refusals_NamedAsTheyAre_BeforeRsyncRuns()
    {
        await using var app = await StartAppAsync();
        using var client = app.CreateClient();
        Directory.CreateDirectory(Path.Combine(WorkerDisk, "same"));
        Directory.CreateDirectory(Path.Combine(Root, "same"));
        await File.WriteAllTextAsync(Path.Combine(Root, "same", "config.json"), "{}");
        await File.WriteAllTextAsync(Path.Combine(WorkerDisk, "same", "config.json"), "{}");

        async Task<(HttpStatusCode, string)> CopyAsync(object body)
        {
            using var response = await client.PostAsJsonAsync("/api/models/copies", body);
            return (response.StatusCode, await response.Content.ReadAsStringAsync());
        }

        var nothing = await CopyAsync(new { from = "spark-2", to = "spark-1", path = Model });
        var same = await CopyAsync(new { from = "spark-1", to = "spark-2", path = Path.Combine(Root, "same") });
        var outside = await CopyAsync(new { from = "spark-1", to = "spark-2", path = "/etc" });
        var newline = await CopyAsync(new { from = "spark-1", to = "spark-2", path = Model + "\n" });
        var itself = await CopyAsync(new { from = "spark-1", to = "spark-1", path = Model });
        var option = await CopyAsync(new { from = "spark-1", to = "spark-2", path = Root + "/-e" });

        Assert.Equal(HttpStatusCode.Conflict, nothing.Item1);
        Assert.Contains("Nothing to copy from spark-2", nothing.Item2, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Conflict, same.Item1);
        Assert.Contains("already on spark-2 with the same size", same.Item2, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, outside.Item1);
        Assert.Equal(HttpStatusCode.BadRequest, newline.Item1);
        Assert.Equal(HttpStatusCode.BadRequest, itself.Item1);
        Assert.Contains("to must be the other Spark", itself.Item2, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, option.Item1);
        Assert.False(Directory.Exists(Path.Combine(WorkerDisk, "ft-both")));
    }

    [Fact]
    public async Task FromTheForm_OnBothSparks_TheCheckOffersTheCopy_ItsProgressShows_AndTheModelIsAdded()
    {
        await using var app = await StartAppAsync();
        var page = await NewPageAsync(app.BaseAddress);
        await page.GotoAsync("/models");

        await page.GetByTestId("add-local-model").ClickAsync();
        await page.GetByTestId("local-path-input").FillAsync(Model);
        await page.GetByTestId("local-on-both").ClickAsync();
        await page.GetByTestId("local-check").ClickAsync();
        await Expect(page.GetByTestId("local-cluster-result")).ToContainTextAsync("copy it to spark-2 first");
        await Expect(page.GetByTestId("local-save")).ToBeDisabledAsync();
        await page.GetByTestId("local-copy").ClickAsync();

        await Expect(page.GetByTestId("local-cluster-result")).ToContainTextAsync("The same directory, the same size, on both Sparks.", new() { Timeout = 60_000 });
        await Expect(page.GetByTestId("local-copy-status")).ToContainTextAsync("copied 3.1 MB to spark-2");
        await page.SaveScreenshotAsync("local-model-copied.png");
        await page.GetByTestId("local-save").ClickAsync();
        await Expect(page.GetByTestId("model-ft-both")).ToContainTextAsync("ft-both");
        Assert.True(File.Exists(Path.Combine(WorkerDisk, "ft-both", "model-00002.safetensors")));
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await _worker.DisposeAsync();
        await _head.DisposeAsync();
        _data.Dispose();
        _tree.Dispose();
    }
}
