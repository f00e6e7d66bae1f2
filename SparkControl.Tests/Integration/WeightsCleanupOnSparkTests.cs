using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using SparkControl.Core.Audit;
using SparkControl.Core.Catalog;
using SparkControl.Core.Disk;
using SparkControl.Tests.Infrastructure;

namespace SparkControl.Tests.Integration;

/// <summary>
/// The weights cleanup through the running panel, the real sshd and dockerd, on a fabricated Hugging Face cache:
/// a folder the catalog uses (in other letter case), unreferenced ones (one a single-part repo, one a symlink that
/// leads out of the cache), one a container started by hand serves, and entries that are not model folders.
/// </summary>
[Collection(DockerCollection.Name)]
public sealed class WeightsCleanupOnSparkTests(DockerdFixture docker, SshdFixture sshd) : IAsyncLifetime
{
    private const string ByHand = "sc-weights-by-hand";

    private readonly TempDirectory _data = new("sc-data");
    private readonly TempDirectory _tree = new("sc-tree");
    private SparkBin _bin = null!;

    private string Hub => _tree.File("hf/hub");

    private string Outside => _tree.File("outside");

    public async Task InitializeAsync()
    {
        _bin = new SparkBin(docker);
        await CreateRepoAsync("models--org--kept", 1_000_000);
        await CreateRepoAsync("models--gpt2", 300_000);
        await CreateRepoAsync("models--org--stale", 2_000_000);
        await CreateRepoAsync("models--org--busy", 400_000);
        await CreateRepoAsync("datasets--org--set", 100_000);
        await File.WriteAllTextAsync(Path.Combine(Hub, "version.txt"), "1");
        Directory.CreateDirectory(Outside);
        await File.WriteAllBytesAsync(Path.Combine(Outside, "precious.safetensors"), new byte[50_000]);
        File.CreateSymbolicLink(Path.Combine(Hub, "models--org--linked"), Outside);

        var spark = SparkOnDocker.Definition(sshd, _bin, _data.Path, [_tree.File("models")], _tree.File("hf"));
        await SparkOnDocker.WriteAsync(_data.Path, sshd, spark, [SparkOnDocker.Model("kept", new HuggingFaceSource("ORG/Kept"), Tools.FreePort())]);
        await docker.DockerAsync(["rm", "-f", ByHand], check: false);
        await docker.DockerAsync(["run", "-d", "--name", ByHand, "--network", "host", "-v", "/usr:/usr:ro", DockerdFixture.BaseImage, "/bin/sh", "-c", "exec sleep 600", "vllm-serve", "org/busy"]);
    }

    /// <summary>A repo as the hub lays it out: a blob, and a snapshot whose file is a relative symlink to it.</summary>
    private async Task CreateRepoAsync(string folder, int bytes)
    {
        var path = Path.Combine(Hub, folder);
        Directory.CreateDirectory(Path.Combine(path, "blobs"));
        Directory.CreateDirectory(Path.Combine(path, "snapshots", "abc123"));
        Directory.CreateDirectory(Path.Combine(path, "refs"));
        await File.WriteAllBytesAsync(Path.Combine(path, "blobs", "sha"), new byte[bytes]);
        await File.WriteAllTextAsync(Path.Combine(path, "refs", "main"), "abc123");
        File.CreateSymbolicLink(Path.Combine(path, "snapshots", "abc123", "model.safetensors"), "../../blobs/sha");
    }

    private Task<SparkControlApp> StartAppAsync() =>
        SparkControlApp.StartAsync(SparkOnDocker.AppSettings(), _data.Path);

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    [Fact]
    public async Task Weights_ListsModelFolders_WithSizesReferencesAndUsers()
    {
        await using var app = await StartAppAsync();
        using var client = app.CreateClient();

        var listing = await client.GetFromJsonAsync<JsonElement>("/api/sparks/spark-1/weights", Json);

        var folders = listing.GetProperty("folders").EnumerateArray().ToDictionary(f => f.GetProperty("folder").GetString()!);
        Assert.Equal(["models--gpt2", "models--org--busy", "models--org--kept", "models--org--linked", "models--org--stale"], folders.Keys);
        Assert.Equal("gpt2", folders["models--gpt2"].GetProperty("repoId").GetString());
        Assert.InRange(folders["models--org--stale"].GetProperty("bytes").GetInt64(), 2_000_000, 2_040_000);
        Assert.True(folders["models--org--kept"].GetProperty("referenced").GetBoolean());
        Assert.Equal("kept", folders["models--org--kept"].GetProperty("referencedBy")[0].GetString());
        Assert.True(folders["models--org--busy"].GetProperty("inUse").GetBoolean());
        Assert.Equal(ByHand, folders["models--org--busy"].GetProperty("inUseBy")[0].GetString());
        Assert.Equal(["models--gpt2", "models--org--linked", "models--org--stale"], folders.Values.Where(f => f.GetProperty("deletable").GetBoolean()).Select(f => f.GetProperty("folder").GetString()));
        // The link frees nothing: its target stays.
        Assert.True(folders["models--org--linked"].GetProperty("isSymlink").GetBoolean());
        Assert.Equal(folders["models--gpt2"].GetProperty("bytes").GetInt64() + folders["models--org--stale"].GetProperty("bytes").GetInt64(), listing.GetProperty("reclaimableBytes").GetInt64());
    }

    [Fact]
    public async Task Cleanup_WithoutConfirmation_LeavesEverything_WithIt_DeletesOnlyTheUnreferenced()
    {
        await using var app = await StartAppAsync();
        using var client = app.CreateClient();
        string[] all = ["models--gpt2", "models--org--stale", "models--org--linked", "models--org--kept", "models--org--busy"];

        using var unconfirmed = await client.PostAsJsonAsync("/api/sparks/spark-1/weights/cleanup", new { folders = all });
        using var declined = await client.PostAsJsonAsync("/api/sparks/spark-1/weights/cleanup", new { folders = all, confirm = false });
        Assert.Equal(HttpStatusCode.BadRequest, unconfirmed.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, declined.StatusCode);
        Assert.All(all, f => Assert.True(Path.Exists(Path.Combine(Hub, f)), $"{f} was left"));

        using var confirmed = await client.PostAsJsonAsync("/api/sparks/spark-1/weights/cleanup", new { folders = all, confirm = true });

        Assert.Equal(HttpStatusCode.OK, confirmed.StatusCode);
        var body = await confirmed.Content.ReadFromJsonAsync<JsonElement>(Json);
        var outcomes = body.GetProperty("results").EnumerateArray().ToDictionary(r => r.GetProperty("folder").GetString()!, r => r.GetProperty("outcome").GetString());
        Assert.Equal(["deleted", "deleted", "deleted", "referenced", "inuse"], all.Select(f => outcomes[f]));
        Assert.Equal(3, body.GetProperty("deleted").GetInt32());
        Assert.Equal(0, body.GetProperty("results").EnumerateArray().Single(r => r.GetProperty("folder").GetString() == "models--org--linked").GetProperty("bytesFreed").GetInt64());
        Assert.False(Path.Exists(Path.Combine(Hub, "models--gpt2")));
        Assert.False(Path.Exists(Path.Combine(Hub, "models--org--stale")));
        Assert.False(Path.Exists(Path.Combine(Hub, "models--org--linked")));
        Assert.True(Directory.Exists(Path.Combine(Hub, "models--org--kept", "blobs")));
        Assert.True(Directory.Exists(Path.Combine(Hub, "models--org--busy", "blobs")));
        Assert.True(Directory.Exists(Path.Combine(Hub, "datasets--org--set")));
        Assert.True(File.Exists(Path.Combine(Hub, "version.txt")));
        // The link went, not what it pointed at.
        Assert.True(File.Exists(Path.Combine(Outside, "precious.safetensors")));

        var audited = app.Get<AuditLog>().Find(new AuditQuery { Action = WeightsCleanup.AuditAction });
        Assert.Equal(["spark-1:models--gpt2", "spark-1:models--org--linked", "spark-1:models--org--stale"], audited.Select(e => e.Target).Order(StringComparer.Ordinal));
        var stale = audited.Single(e => e.Target.EndsWith("stale", StringComparison.Ordinal));
        Assert.StartsWith("org/stale: ", stale.Detail, StringComparison.Ordinal);
        Assert.Matches(@"\((20[0-3][0-9]{4}) bytes\)$", stale.Detail);
    }

    [Fact]
    public async Task Cleanup_OnlyReferencedOrBusyFolders_IsAConflict_AndBadNamesAreRefused()
    {
        await using var app = await StartAppAsync();
        using var client = app.CreateClient();

        using var conflict = await client.PostAsJsonAsync("/api/sparks/spark-1/weights/cleanup", new { folders = new[] { "models--org--kept", "models--org--busy" }, confirm = true });
        using var hostile = await client.PostAsJsonAsync("/api/sparks/spark-1/weights/cleanup", new { folders = new[] { "models--gpt2", "models--org--kept/../../outside" }, confirm = true });
        using var unknown = await client.PostAsJsonAsync("/api/sparks/nope/weights/cleanup", new { folders = new[] { "models--gpt2" }, confirm = true });

        Assert.Equal(HttpStatusCode.Conflict, conflict.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, hostile.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.True(Directory.Exists(Path.Combine(Hub, "models--gpt2")));
        Assert.True(File.Exists(Path.Combine(Outside, "precious.safetensors")));
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/api/sparks/nope/weights")).StatusCode);
    }

    public async Task DisposeAsync()
    {
        await docker.DockerAsync(["rm", "-f", ByHand], check: false);
        _bin.Dispose();
        _tree.Dispose();
        _data.Dispose();
    }
}
