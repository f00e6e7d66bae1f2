using System.Collections.Immutable;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using SparkControl.Core.Audit;
using SparkControl.Core.Catalog;
using SparkControl.Core.Disk;
using SparkControl.Core.Hosts;
using SparkControl.Core.Sparks;
using SparkControl.Core.Validation;
using SparkControl.Sim.Hosting;
using SparkControl.Tests.Infrastructure;

namespace SparkControl.Tests.Core;

/// <summary>The weights cleanup's rules as tables, and the service over a simulated Spark's disk.</summary>
public sealed class WeightsCleanupTests : IDisposable
{
    private const string Hub = "/home/demo/.cache/huggingface/hub";

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 3, 7, 0, 0, TimeSpan.Zero));
    private readonly TempDirectory _data = new();

    [Theory]
    [InlineData("models--Qwen--Qwen3-8B")]
    [InlineData("models--gpt2")]
    [InlineData("models--org--a.b_c-d")]
    [InlineData("models--_x")]
    public void HfCacheFolder_CacheFolderNames_AreAccepted(string folder) => Assert.Null(Validators.HfCacheFolder(folder));

    [Theory]
    [InlineData("models--Qwen--Qwen3-8B\n")]
    [InlineData("models--Qwen--Qwen3-8B\r")]
    [InlineData("models--gpt2 ")]
    [InlineData("..")]
    [InlineData(".")]
    [InlineData("models--a/../b")]
    [InlineData("models--a/b")]
    [InlineData("models--a..b")]
    [InlineData("models--..")]
    [InlineData("")]
    [InlineData(null)]
    [InlineData("-models--a")]
    [InlineData("--models--a")]
    [InlineData("models--")]
    [InlineData("models---a")]
    [InlineData("models--.hidden")]
    [InlineData("datasets--org--set")]
    [InlineData("Models--org--a")]
    [InlineData("models--a\0")]
    [InlineData("models--a;rm -rf ~")]
    [InlineData("models--$(id)")]
    [InlineData("models--ä")]
    [InlineData("/home/u/.cache/huggingface/hub/models--a")]
    public void HfCacheFolder_Neighbours_AreRefused(string? folder) => Assert.NotNull(Validators.HfCacheFolder(folder));

    [Fact]
    public void HfCacheFolder_OverlongName_IsRefused() =>
        Assert.NotNull(Validators.HfCacheFolder("models--" + new string('a', Validators.MaxHfCacheFolderLength)));

    [Theory]
    [InlineData("models--Qwen--Qwen3-8B", "Qwen/Qwen3-8B")]
    [InlineData("models--gpt2", "gpt2")]
    [InlineData("models--nvidia--Llama-3.1-8B-Instruct-FP4", "nvidia/Llama-3.1-8B-Instruct-FP4")]
    [InlineData("models--a--b--c", "a/b/c")]
    [InlineData("models--a/../b", null)]
    [InlineData("models--x\n", null)]
    public void RepoIdOf_DecodesAsTheHubDoes(string folder, string? repo) => Assert.Equal(repo, HfCacheRules.RepoIdOf(folder));

    private static ModelDefinition Hf(string id, string repo, params string[] extraArgs) =>
        new() { Id = id, DisplayName = id, Source = new HuggingFaceSource(repo), ServedName = id, Flags = new VllmFlags { ExtraArgs = [.. extraArgs] } };

    private static ModelDefinition Local(string id, string spark, string path) =>
        new() { Id = id, DisplayName = id, Source = new LocalSource(spark, path), ServedName = id };

    public static TheoryData<string, ModelDefinition[], string[]> References => new()
    {
        { "models--Qwen--Qwen3-8B", [Hf("qwen3-8b", "Qwen/Qwen3-8B")], ["qwen3-8b"] },
        { "models--Qwen--Qwen3-8B", [Hf("qwen3-8b", "qwen/qwen3-8b")], ["qwen3-8b"] },
        { "models--qwen--qwen3-8b", [Hf("qwen3-8b", "Qwen/Qwen3-8B")], ["qwen3-8b"] },
        { "models--Qwen--Qwen3-8B", [Hf("fp8", "Qwen/Qwen3-8B-FP8")], [] },
        { "models--gpt2", [Hf("gpt2", "gpt2"), Hf("other", "openai/gpt2")], ["gpt2"] },
        { "models--Qwen--Qwen3-0.6B", [Hf("big", "Qwen/Qwen3-32B", "--speculative-model", "Qwen/Qwen3-0.6B")], ["big"] },
        // A local entry's directory name is not a repo id.
        { "models--Qwen3-8B", [Local("ft", "spark-1", "/models/Qwen3-8B")], [] },
        // ...but a local entry served from a snapshot inside the folder needs it, on its own Spark only.
        { "models--org--ft", [Local("snap", "spark-1", Hub + "/models--org--ft/snapshots/abc")], ["snap"] },
        { "models--org--ft", [Local("snap", "spark-2", Hub + "/models--org--ft/snapshots/abc")], [] },
        { "models--org--ft", [Local("near", "spark-1", Hub + "/models--org--ft2")], [] },
        { "models--org--a", [Hf("a1", "org/a"), Hf("a2", "ORG/A")], ["a1", "a2"] },
    };

    [Theory]
    [MemberData(nameof(References))]
    public void ReferencedBy_CatalogEntries_CaseInsensitiveHfIds(string folder, ModelDefinition[] models, string[] expected) =>
        Assert.Equal(expected, HfCacheRules.ReferencedBy(folder, HfCacheRules.RepoIdOf(folder)!, models, "spark-1", Hub));

    [Theory]
    [InlineData("vllm serve Qwen/Qwen3-8B --port 8000", ContainerStatus.Running, true)]
    [InlineData("vllm serve qwen/qwen3-8b --port 8000", ContainerStatus.Running, true)]
    [InlineData("python3 -m vllm.entrypoints.openai.api_server --model=Qwen/Qwen3-8B", ContainerStatus.Running, true)]
    [InlineData("vllm serve '/root/.cache/huggingface/hub/models--Qwen--Qwen3-8B/snapshots/abc'", ContainerStatus.Running, true)]
    [InlineData("vllm serve Qwen/Qwen3-8B --port 8000", ContainerStatus.Restarting, true)]
    [InlineData("vllm serve Qwen/Qwen3-8B --port 8000", ContainerStatus.Exited, false)]
    [InlineData("vllm serve Qwen/Qwen3-8B-FP8 --port 8000", ContainerStatus.Running, false)]
    [InlineData("vllm serve AQwen/Qwen3-8B", ContainerStatus.Running, false)]
    [InlineData("vllm serve /root/.cache/huggingface/hub/models--Qwen--Qwen3-8B-FP8/snapshots/abc", ContainerStatus.Running, false)]
    [InlineData("", ContainerStatus.Running, false)]
    public void InUseBy_RunningContainerCommandNamingTheRepo(string command, ContainerStatus state, bool inUse)
    {
        var container = FakeSparkHost.Container("llm", state) with { Command = command };

        var users = HfCacheRules.InUseBy("models--Qwen--Qwen3-8B", "Qwen/Qwen3-8B", [container]);

        string[] expected = inUse ? ["llm"] : [];
        Assert.Equal(expected, users);
    }

    [Theory]
    [InlineData("vllm serve gpt2", true)]
    [InlineData("vllm serve gpt2-large", false)]
    [InlineData("vllm serve openai-community/gpt2", false)]
    public void InUseBy_SinglePartRepo_MatchesWholeWordsOnly(string command, bool inUse) =>
        Assert.Equal(inUse, HfCacheRules.InUseBy("models--gpt2", "gpt2", [FakeSparkHost.Container("c", ContainerStatus.Running) with { Command = command }]).Length == 1);

    [Fact]
    public void ParsePs_ReadsTheCommandWithoutDockersQuotes()
    {
        const string Line = """{"Command":"\"vllm serve Qwen/Qwen3-8B --port 8000\"","ID":"abc","Image":"vllm/vllm-openai:v0.11.0","Labels":"","Names":"llm","State":"running","Status":"Up 2 hours"}""";

        var container = Assert.Single(DockerJson.ParsePs(Line));

        Assert.Equal("vllm serve Qwen/Qwen3-8B --port 8000", container.Command);
    }

    [Fact]
    public void RemoveArgv_IsOneExactPathUnderTheHub()
    {
        Assert.Equal(["rm", "-rf", "--", Hub + "/models--gpt2"], DockerSparkHost.RemoveHfCacheFolderArgv(Hub, "models--gpt2"));
        Assert.Throws<ArgumentException>(() => DockerSparkHost.RemoveHfCacheFolderArgv(Hub, "models--a/../../.."));
        Assert.Throws<ArgumentException>(() => DockerSparkHost.RemoveHfCacheFolderArgv(Hub, ".."));
        Assert.Throws<ArgumentException>(() => DockerSparkHost.RemoveHfCacheFolderArgv("~/.cache/huggingface/hub", "models--gpt2"));
        Assert.Throws<ArgumentException>(() => DockerSparkHost.RemoveHfCacheFolderArgv("/home/u/../etc", "models--gpt2"));
    }

    private (WeightsCleanup Cleanup, SimulatedSparkHost Host, ModelCatalog Catalog, AuditLog Audit) Setup()
    {
        var host = new SimulatedSparkHost(new SimSparkSettings { Name = "spark-1" }, _time);
        host.Disk.AddDirectory($"{Hub}/models--Qwen--Qwen3-8B", 16L << 30, "config.json");
        host.Disk.AddDirectory($"{Hub}/models--gpt2", 500L << 20, "config.json");
        host.Disk.AddDirectory($"{Hub}/models--org--old", 2L << 30, "config.json");
        host.Disk.AddDirectory($"{Hub}/datasets--org--set", 1L << 30, "data.parquet");
        var fleet = new SparkFleet(_time);
        fleet.Publish(new FleetConfiguration([new SparkEntry(new SparkDefinition { Name = "spark-1", Host = "spark-1.test", User = "demo" }, host, true)], [], false));
        var catalog = new ModelCatalog(_time);
        catalog.Publish(new CatalogSnapshot([Hf("qwen3-8b", "qwen/qwen3-8b")], []));
        var audit = new AuditLog(TestStores.Open(_data.Path), _time);
        return (new WeightsCleanup(fleet, catalog, audit, NullLogger<WeightsCleanup>.Instance), host, catalog, audit);
    }

    [Fact]
    public async Task List_ModelFolders_WithSizesAndReferences()
    {
        var (cleanup, _, _, _) = Setup();

        var listing = await cleanup.ListAsync("SPARK-1", CancellationToken.None);

        Assert.Equal(Hub, listing.HubPath);
        Assert.Equal(["models--gpt2", "models--org--old", "models--Qwen--Qwen3-8B"], listing.Folders.Select(f => f.Folder));
        Assert.Equal(["gpt2", "org/old", "Qwen/Qwen3-8B"], listing.Folders.Select(f => f.RepoId));
        Assert.Equal<string>(["qwen3-8b"], listing.Folders.Single(f => f.RepoId == "Qwen/Qwen3-8B").ReferencedBy);
        Assert.Equal((500L << 20) + (2L << 30), listing.ReclaimableBytes);
    }

    [Fact]
    public async Task Cleanup_DeletesOnlyWhatNothingUses_AndAuditsEachDeletion()
    {
        var (cleanup, host, _, audit) = Setup();
        await host.RunContainerAsync(ContainerLaunch.Of(new ContainerLaunchSpec { Name = "by-hand", Image = "lmsysorg/sglang:latest", Entrypoint = "python3", Command = ["-m", "sglang.launch_server", "--model-path", "org/old"] }), CancellationToken.None);

        var results = await cleanup.CleanupAsync("spark-1", ["models--gpt2", "models--Qwen--Qwen3-8B", "models--org--old", "models--org--gone"], new AuditActor("olga", "10.0.0.5"), CancellationToken.None);

        Assert.Equal(
            [WeightsCleanupOutcome.Deleted, WeightsCleanupOutcome.Referenced, WeightsCleanupOutcome.InUse, WeightsCleanupOutcome.Missing],
            results.Select(r => r.Outcome));
        Assert.Equal(500L << 20, results[0].BytesFreed);
        Assert.Contains("by-hand", results[2].Reason, StringComparison.Ordinal);
        Assert.False(host.Disk.Exists($"{Hub}/models--gpt2"));
        Assert.True(host.Disk.Exists($"{Hub}/models--Qwen--Qwen3-8B"));
        Assert.True(host.Disk.Exists($"{Hub}/models--org--old"));
        var entry = Assert.Single(audit.Recent(10));
        Assert.Equal(("olga", WeightsCleanup.AuditAction, "spark-1:models--gpt2", "10.0.0.5"), (entry.Actor, entry.Action, entry.Target, entry.Address));
        Assert.Contains($"{500L << 20} bytes", entry.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Cleanup_FolderReferencedSinceItWasListed_IsKept()
    {
        var (cleanup, host, catalog, _) = Setup();
        var listing = await cleanup.ListAsync("spark-1", CancellationToken.None);
        Assert.True(listing.Offers(listing.Folders.Single(f => f.Folder == "models--gpt2")));

        catalog.Publish(catalog.Current with { Models = catalog.Current.Models.Add(Hf("gpt2", "GPT2")) });
        var result = Assert.Single(await cleanup.CleanupAsync("spark-1", ["models--gpt2"], "test", CancellationToken.None));

        Assert.Equal(WeightsCleanupOutcome.Referenced, result.Outcome);
        Assert.True(host.Disk.Exists($"{Hub}/models--gpt2"));
    }

    [Fact]
    public async Task Cleanup_OneBadName_RefusesTheWholeRequestBeforeDeletingAnything()
    {
        var (cleanup, host, _, audit) = Setup();

        var refused = await Assert.ThrowsAsync<ValidationFailedException>(() => cleanup.CleanupAsync("spark-1", ["models--gpt2", "models--a/../b"], "test", CancellationToken.None));
        var none = await Assert.ThrowsAsync<ValidationFailedException>(() => cleanup.CleanupAsync("spark-1", [], "test", CancellationToken.None));
        await Assert.ThrowsAsync<KeyNotFoundException>(() => cleanup.CleanupAsync("nope", ["models--gpt2"], "test", CancellationToken.None));

        Assert.Equal("folders[1]", Assert.Single(refused.Errors).Field);
        Assert.Equal("folders", Assert.Single(none.Errors).Field);
        Assert.True(host.Disk.Exists($"{Hub}/models--gpt2"));
        Assert.Empty(audit.Recent(10));
    }

    public void Dispose() => _data.Dispose();
}
