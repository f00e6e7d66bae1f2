using SparkControl.Core.Catalog;
using SparkControl.Core.Storage;
using SparkControl.Core.Yaml;
using SparkControl.Tests.Infrastructure;
using SparkControl.Core.Validation;

namespace SparkControl.Tests.Core;

public sealed class CatalogStoreTests : IDisposable
{
    private readonly TempDirectory _data = new();

    private static ModelDefinition Model(string id, string repo, double? utilization = null) => new()
    {
        Id = id,
        DisplayName = id,
        Source = new HuggingFaceSource(repo),
        ServedName = id,
        Flags = new VllmFlags { GpuMemoryUtilization = utilization },
    };

    private CatalogStore Store(string? customYaml = null)
    {
        if (customYaml is not null)
        {
            File.WriteAllText(_data.File(CatalogStore.CustomFileName), customYaml);
        }

        var store = new CatalogStore(new DataDirectory(_data.Path), new ModelCatalog(TimeProvider.System));
        store.SetSources([Model("shipped-a", "org/a", 0.5), Model("shipped-b", "org/b", 0.6)], [], []);
        return store;
    }

    [Fact]
    public void Merge_CustomModelReplacesShippedAndOverridesSetFlags()
    {
        var store = Store("""
            models:
              - id: shipped-a
                source: { hf: operator/replacement }
              - id: mine
                source: { local: /models/mine, spark: spark-1 }
            overrides:
              - id: shipped-b
                vllm: { gpuMemoryUtilization: 0.3, maxModelLen: 8192 }
            """);

        var models = store.Current.Models;

        Assert.Equal(["shipped-a", "shipped-b", "mine"], models.Select(m => m.Id));
        Assert.Equal("operator/replacement", ((HuggingFaceSource)models[0].Source).Repo);
        Assert.Equal(ModelOrigin.Custom, models[0].Origin);
        Assert.Equal(0.3, models[1].Flags.GpuMemoryUtilization);
        Assert.Equal(8192, models[1].Flags.MaxModelLen);
        Assert.Equal(ModelOrigin.Shipped, models[1].Origin);
        Assert.Equal(ModelOrigin.Custom, models[2].Origin);
    }

    [Fact]
    public async Task UpdateFlags_ShippedModel_WritesAnOverrideThatSurvivesAReload()
    {
        var store = Store();
        var before = store.Current.Find("shipped-b")!;

        await store.UpdateFlagsAsync("shipped-b", new VllmFlags { GpuMemoryUtilization = 0.42 }, CatalogStore.Version(before), CancellationToken.None);
        var reloaded = Store();

        Assert.Equal(0.42, reloaded.Current.Find("shipped-b")!.Flags.GpuMemoryUtilization);
        Assert.NotEqual(CatalogStore.Version(before), CatalogStore.Version(reloaded.Current.Find("shipped-b")!));
    }

    [Fact]
    public async Task UpdateIdle_ShippedModel_IsKeptInTheCustomFile_AndClearingItSurvivesAReload()
    {
        var store = Store();
        await store.UpdateIdleAsync("shipped-a", TimeSpan.FromMinutes(20), CatalogStore.Version(store.Current.Find("shipped-a")!), CancellationToken.None);
        var set = Store().Current.Find("shipped-a")!.IdleUnloadAfter;
        await store.UpdateIdleAsync("shipped-a", null, null, CancellationToken.None);
        var cleared = Store().Current.Find("shipped-a")!;

        Assert.Equal(TimeSpan.FromMinutes(20), set);
        Assert.Null(cleared.IdleUnloadAfter);
        Assert.Equal(0.5, cleared.Flags.GpuMemoryUtilization);
        await Assert.ThrowsAsync<ValidationFailedException>(() => store.UpdateIdleAsync("shipped-a", TimeSpan.FromMilliseconds(500), null, CancellationToken.None));
        await Assert.ThrowsAsync<KeyNotFoundException>(() => store.UpdateIdleAsync("nope", TimeSpan.FromMinutes(1), null, CancellationToken.None));
    }

    [Fact]
    public void IdleUnload_AnOverrideOfZero_TurnsOffWhatTheShippedFileSets_AndABadOneIsAProblemThatChangesNothing()
    {
        File.WriteAllText(_data.File(CatalogStore.CustomFileName), "idleUnload:\n  - id: shipped-b\n    after: \"00:00:00\"\n  - id: shipped-a\n    after: \"45.00:00:00\"\n  - id: shipped-a\n    after: soon\n");
        var store = new CatalogStore(new DataDirectory(_data.Path), new ModelCatalog(TimeProvider.System));
        store.SetSources([Model("shipped-a", "org/a") with { IdleUnloadAfter = TimeSpan.FromHours(2) }, Model("shipped-b", "org/b") with { IdleUnloadAfter = TimeSpan.FromHours(1) }], [], []);

        Assert.Null(store.Current.Find("shipped-b")!.IdleUnloadAfter);
        Assert.Equal(TimeSpan.FromHours(2), store.Current.Find("shipped-a")!.IdleUnloadAfter);
        Assert.Contains(store.Current.Problems, p => p.Message.Contains("between 1 second and 30 days", StringComparison.Ordinal) && p.Line == 5);
        Assert.Contains(store.Current.Problems, p => p.Message.Contains("must be a duration like", StringComparison.Ordinal) && p.Line == 7);
    }

    [Fact]
    public async Task UpdateFlags_StaleVersion_IsAConflictAndChangesNothing()
    {
        var store = Store();
        var opened = CatalogStore.Version(store.Current.Find("shipped-a")!);
        await store.UpdateFlagsAsync("shipped-a", new VllmFlags { MaxNumSeqs = 4 }, opened, CancellationToken.None);
        var written = await File.ReadAllTextAsync(_data.File(CatalogStore.CustomFileName));

        var conflict = await Assert.ThrowsAsync<StaleVersionException>(() => store.UpdateFlagsAsync("shipped-a", new VllmFlags { MaxNumSeqs = 16 }, opened, CancellationToken.None));

        Assert.Contains("changed by someone else", conflict.Message, StringComparison.Ordinal);
        Assert.Equal(4, store.Current.Find("shipped-a")!.Flags.MaxNumSeqs);
        Assert.Equal(written, await File.ReadAllTextAsync(_data.File(CatalogStore.CustomFileName)));
    }

    [Fact]
    public async Task ConcurrentWriters_LoseNoUpdateAndNeverTearTheFile()
    {
        var store = Store();

        await Task.WhenAll(Enumerable.Range(0, 30).Select(i => Task.Run(() => store.AddAsync(Model($"m{i}", $"org/m{i}"), CancellationToken.None))));
        var (custom, problems) = CustomCatalog.Read(await File.ReadAllTextAsync(_data.File(CatalogStore.CustomFileName)), "x");

        Assert.Empty(problems);
        Assert.Equal(30, custom.Models.Length);
        Assert.Equal(32, store.Current.Models.Length);
        Assert.Equal(32, Store().Current.Models.Length);
    }

    [Fact]
    public async Task Add_DuplicateOrInvalid_IsRefusedAndChangesNothing()
    {
        var store = Store();

        await Assert.ThrowsAsync<SettingsConflictException>(() => store.AddAsync(Model("shipped-a", "org/x"), CancellationToken.None));
        var invalid = await Assert.ThrowsAsync<ValidationFailedException>(() => store.AddAsync(Model("ok", "bad--repo"), CancellationToken.None));

        Assert.Equal("repo", Assert.Single(invalid.Errors).Field);
        Assert.False(File.Exists(_data.File(CatalogStore.CustomFileName)));
    }

    [Fact]
    public async Task Add_ServedNameInUse_IsRefusedButAnAliasMayBeShared()
    {
        var store = Store();

        var servedTaken = await Assert.ThrowsAsync<SettingsConflictException>(() => store.AddAsync(Model("new", "org/new") with { ServedName = "shipped-a" }, CancellationToken.None));
        var aliasTaken = await Assert.ThrowsAsync<SettingsConflictException>(() => store.AddAsync(Model("new", "org/new") with { Aliases = ["shipped-b"] }, CancellationToken.None));
        Assert.False(File.Exists(_data.File(CatalogStore.CustomFileName)));
        await store.AddAsync(Model("one", "org/one") with { Aliases = ["default-chat"] }, CancellationToken.None);
        await store.AddAsync(Model("two", "org/two") with { Aliases = ["default-chat"] }, CancellationToken.None);
        var aliasAsServedName = await Assert.ThrowsAsync<SettingsConflictException>(() => store.AddAsync(Model("new", "org/new") with { ServedName = "default-chat" }, CancellationToken.None));

        Assert.Equal("The served name 'shipped-a' is already used by model 'shipped-a'; choose another name.", servedTaken.Message);
        Assert.Equal("The alias 'shipped-b' is already the served name of model 'shipped-b'; choose another name.", aliasTaken.Message);
        Assert.Equal("The served name 'default-chat' is already an alias of model 'one'; choose another name.", aliasAsServedName.Message);
        Assert.Equal(["shipped-a", "shipped-b", "one", "two"], store.Current.Models.Select(m => m.Id));
    }

    [Fact]
    public async Task Merge_CustomModelWhoseServedNameClashes_IsLeftOutAndReportedUntilRemoved()
    {
        var store = Store("""
            models:
              - id: mine
                source: { hf: operator/mine }
                servedName: shipped-b
            """);

        var problem = Assert.Single(store.Current.Problems);
        Assert.Equal(["shipped-a", "shipped-b"], store.Current.Models.Select(m => m.Id));
        Assert.EndsWith(CatalogStore.CustomFileName, problem.File, StringComparison.Ordinal);
        Assert.Equal("model 'mine' is left out of the catalog: served name 'shipped-b' is already used by model 'shipped-b'", problem.Message);

        await store.RemoveAsync("mine", null, CancellationToken.None);

        Assert.Empty(store.Current.Problems);
        Assert.Empty(CustomCatalog.Read(await File.ReadAllTextAsync(_data.File(CatalogStore.CustomFileName)), "custom").Item1.Models);
    }

    [Fact]
    public async Task Remove_ShippedModel_IsRefused()
    {
        var store = Store();

        var refused = await Assert.ThrowsAsync<SettingsConflictException>(() => store.RemoveAsync("shipped-a", null, CancellationToken.None));

        Assert.Contains("models.yaml", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BrokenCustomFile_IsReportedWithItsLineAndNeverOverwritten()
    {
        const string broken = "models:\n  - id: ok\n    source: { hf: org/ok }\n    port: not-a-port\n";
        var store = Store(broken);

        var problem = Assert.Single(store.Current.Problems);
        var refused = await Assert.ThrowsAsync<ConfigFileException>(() => store.AddAsync(Model("new", "org/new"), CancellationToken.None));

        Assert.Equal(4, problem.Line);
        Assert.EndsWith(CatalogStore.CustomFileName, problem.File, StringComparison.Ordinal);
        Assert.Contains("shipped-a", store.Current.Models.Select(m => m.Id));
        Assert.Contains(CatalogStore.CustomFileName, refused.Message, StringComparison.Ordinal);
        Assert.Equal(broken, await File.ReadAllTextAsync(_data.File(CatalogStore.CustomFileName)));
    }

    [Fact]
    public async Task ReadOnlyDataDirectory_GivesAClearErrorAndLeavesTheFileUnchanged()
    {
        const string existing = "models:\n  - id: mine\n    source: { hf: org/mine }\n";
        await using var readOnly = await TmpfsMount.CreateReadOnlyAsync(path => File.WriteAllTextAsync(Path.Combine(path, CatalogStore.CustomFileName), existing));
        var store = new CatalogStore(new DataDirectory(readOnly.Path), new ModelCatalog(TimeProvider.System));

        var error = await Assert.ThrowsAsync<DataDirectoryException>(() => store.AddAsync(Model("new", "org/new"), CancellationToken.None));

        Assert.Equal(Path.Combine(readOnly.Path, CatalogStore.CustomFileName), error.FilePath);
        Assert.Contains("read-only", error.Message, StringComparison.Ordinal);
        Assert.Equal(existing, await File.ReadAllTextAsync(Path.Combine(readOnly.Path, CatalogStore.CustomFileName)));
        Assert.Equal(["mine"], store.Current.Models.Select(m => m.Id));
    }

    [Fact]
    public async Task AHandEditWhileRunning_IsKeptByTheNextWrite()
    {
        var store = Store();
        await store.AddAsync(Model("first", "org/first"), CancellationToken.None);
        // Another writer (an operator's editor) adds a model to the file behind the running store's back.
        await Store().AddAsync(Model("by-hand", "org/by-hand"), CancellationToken.None);

        await store.AddAsync(Model("second", "org/second"), CancellationToken.None);

        var (onDisk, problems) = CustomCatalog.Read(await File.ReadAllTextAsync(_data.File(CatalogStore.CustomFileName)), "f");
        Assert.Empty(problems);
        Assert.Equal(["first", "by-hand", "second"], onDisk.Models.Select(m => m.Id));
        Assert.Contains("by-hand", store.Current.Models.Select(m => m.Id));
    }

    [Fact]
    public async Task AFileBrokenByHandWhileRunning_IsReportedAndNeverOverwritten()
    {
        var store = Store();
        await store.AddAsync(Model("first", "org/first"), CancellationToken.None);
        const string broken = "models:\n  - id: first\n    source: { hf: org/first }\n    port: not-a-port\n";
        await File.WriteAllTextAsync(_data.File(CatalogStore.CustomFileName), broken);

        var refused = await Assert.ThrowsAsync<ConfigFileException>(() => store.AddAsync(Model("second", "org/second"), CancellationToken.None));

        Assert.Contains(CatalogStore.CustomFileName, refused.Message, StringComparison.Ordinal);
        Assert.Equal(broken, await File.ReadAllTextAsync(_data.File(CatalogStore.CustomFileName)));
        Assert.Equal(4, Assert.Single(store.Current.Problems).Line);
    }

    [Fact]
    public async Task AReadOnlyFile_IsNeverReplaced()
    {
        var store = Store();
        await store.AddAsync(Model("first", "org/first"), CancellationToken.None);
        var path = _data.File(CatalogStore.CustomFileName);
        var before = await File.ReadAllTextAsync(path);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.GroupRead | UnixFileMode.OtherRead);

        var error = await Assert.ThrowsAsync<DataDirectoryException>(() => store.AddAsync(Model("second", "org/second"), CancellationToken.None));

        Assert.Equal(path, error.FilePath);
        Assert.Contains("is read-only", error.Message, StringComparison.Ordinal);
        Assert.Equal(before, await File.ReadAllTextAsync(path));
        Assert.DoesNotContain("second", store.Current.Models.Select(m => m.Id));
    }

    [Theory]
    [InlineData("Qwen/Qwen3-8B", "qwen3-8b")]
    [InlineData("/home/nvidia/models/My_FT v2", "my_ft-v2")]
    [InlineData("org/--weird--", "weird")]
    [InlineData("/models/.hidden", "hidden")]
    [InlineData("/models/___", "model-")]
    public void DeriveId_FromRepoOrDirectory(string source, string id) => Assert.StartsWith(id, ModelIds.Derive(source), StringComparison.Ordinal);

    [Fact]
    public void UniqueId_AddsTheFirstFreeSuffix() =>
        Assert.Equal("m-3", ModelIds.Unique("m", id => id is "m" or "m-2"));

    public void Dispose() => _data.Dispose();
}
