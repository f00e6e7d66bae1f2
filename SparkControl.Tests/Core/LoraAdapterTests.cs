using SparkControl.Core.Catalog;
using SparkControl.Core.Hosts;
using SparkControl.Core.Launch;
using SparkControl.Core.Shell;
using SparkControl.Core.Sparks;
using SparkControl.Core.Storage;
using SparkControl.Core.Validation;
using SparkControl.Tests.Infrastructure;

namespace SparkControl.Tests.Core;

/// <summary>LoRA adapters in the catalog and the launch: vLLM's flags and rank rules, adapter_config.json, names, models.custom.yaml.</summary>
public sealed class LoraAdapterTests : IDisposable
{
    private readonly TempDirectory _data = new();

    private static readonly SparkDefinition Spark = new() { Name = "spark-1", Host = "10.0.0.5", User = "nvidia", VllmImage = "nvcr.io/nvidia/vllm:25.10-py3" };

    private static ModelDefinition Model(string id = "qwen3-8b", string repo = "Qwen/Qwen3-8B") => new()
    {
        Id = id,
        DisplayName = id,
        Source = new HuggingFaceSource(repo),
        ServedName = id,
        Flags = new VllmFlags { MaxModelLen = 32768 },
    };

    private static LoraAdapter Adapter(string name, int rank = 16, string spark = "spark-1") => new(name, spark, $"/home/nvidia/models/{name}", rank, "Qwen/Qwen3-8B");

    [Fact]
    public void Launch_WithAdapters_EnablesLoraAtTheSmallestAllowedRank_MountsEachReadOnly_AndLabelsThem()
    {
        var legal = Adapter("legal", rank: 16);
        var sql = Adapter("sql", rank: 20);
        var spec = LaunchSpecs.Vllm(Model(), Spark, "/hf", adapters: [(legal, "/data/legal-v2"), (sql, sql.Path)]);
        var line = ShellCommand.Join(DockerCommands.Run(spec));

        // Rank 20 needs 32: vLLM accepts only 1, 8, 16, 32, 64, 128, 256, 320, 512. The real path is the mount's source.
        Assert.Contains("serve Qwen/Qwen3-8B --served-model-name qwen3-8b --port 8000 --enable-lora --max-lora-rank 32 --lora-modules legal=/home/nvidia/models/legal sql=/home/nvidia/models/sql --max-model-len 32768", line, StringComparison.Ordinal);
        Assert.Contains("-v /data/legal-v2:/home/nvidia/models/legal:ro -v /home/nvidia/models/sql:/home/nvidia/models/sql:ro", line, StringComparison.Ordinal);
        Assert.Equal("legal=/home/nvidia/models/legal,sql=/home/nvidia/models/sql", spec.Labels[ContainerLabels.Adapters]);
    }

    [Fact]
    public void Launch_WithoutAdapters_HasNoLoraFlagsAndNoAdaptersLabel()
    {
        var spec = LaunchSpecs.Vllm(Model(), Spark, "/hf");

        Assert.DoesNotContain("lora", ShellCommand.Join(DockerCommands.Run(spec)), StringComparison.Ordinal);
        Assert.False(spec.Labels.ContainsKey(ContainerLabels.Adapters));
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(4, 8)]
    [InlineData(8, 8)]
    [InlineData(9, 16)]
    [InlineData(300, 320)]
    [InlineData(512, 512)]
    public void MaxLoraRank_IsTheSmallestAllowedValueThatHoldsTheRank(int rank, int expected) =>
        Assert.Equal(expected, LoraRanks.MaxLoraRank([Adapter("a", rank)]));

    [Theory]
    [InlineData(0, false)]
    [InlineData(-8, false)]
    [InlineData(1, true)]
    [InlineData(512, true)]
    [InlineData(513, false)]
    public void Rank_IsServedFrom1To512(int rank, bool served) => Assert.Equal(served, LoraRanks.Check(rank) is null);

    [Theory]
    [InlineData("""{"peft_type":"LORA","r":16,"base_model_name_or_path":"Qwen/Qwen3-8B"}""", null, 16, "Qwen/Qwen3-8B")]
    [InlineData("""{"peft_type":"lora","r":8}""", null, 8, null)]
    [InlineData("""{"peft_type":"IA3","r":8}""", "vLLM serves LORA adapters only", 8, null)]
    [InlineData("""{"peft_type":"LORA"}""", "no whole-number rank", null, null)]
    [InlineData("""{"peft_type":"LORA","r":"16"}""", "no whole-number rank", null, null)]
    [InlineData("""{"peft_type":"LORA","r":16.5}""", "no whole-number rank", null, null)]
    [InlineData("""{"peft_type":"LORA","r":1024}""", "from 1 to 512", 1024, null)]
    [InlineData("""[1,2]""", "not a JSON object", null, null)]
    [InlineData("PK\u0003\u0004 this is a zip", "not JSON", null, null)]
    [InlineData("""{"peft_type":"LORA","r":16""", "not JSON", null, null)]
    public void AdapterConfig_IsReadAsVllmWould(string text, string? problem, int? rank, string? trainedOn)
    {
        var problems = new List<FieldError>();

        var (readRank, readBase) = LoraAdapterInspector.ReadConfig(text, problems);

        Assert.Equal((rank, trainedOn), (readRank, readBase));
        if (problem is null)
        {
            Assert.Empty(problems);
        }
        else
        {
            Assert.Contains(problems, p => p.Message.Contains(problem, StringComparison.Ordinal));
        }
    }

    [Fact]
    public void AdapterConfig_ThatCannotBeRead_IsAProblem()
    {
        var problems = new List<FieldError>();
        LoraAdapterInspector.ReadConfig(null, problems);
        Assert.Contains("cannot be read", Assert.Single(problems).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void BaseMismatch_ComparesRepoIdsWithoutCase_AndLocalPathsExactly()
    {
        Assert.Null(LoraAdapterInspector.Mismatch("qwen/qwen3-8b", Model()));
        Assert.Contains("trained on meta-llama/Llama-3.3-70B-Instruct, but qwen3-8b serves Qwen/Qwen3-8B",
            LoraAdapterInspector.Mismatch("meta-llama/Llama-3.3-70B-Instruct", Model()), StringComparison.Ordinal);
        Assert.Contains("does not name its base model", LoraAdapterInspector.Mismatch(null, Model()), StringComparison.Ordinal);
        var local = Model() with { Source = new LocalSource("spark-1", "/home/nvidia/models/base") };
        Assert.Null(LoraAdapterInspector.Mismatch("/home/nvidia/models/base/", local));
        Assert.NotNull(LoraAdapterInspector.Mismatch("/home/nvidia/models/BASE", local));
    }

    [Fact]
    public void OnlyGeneratingModelsVllmStartsCanServeAdapters()
    {
        Assert.Null(LoraAdapterInspector.CannotServe(Model()));
        Assert.Contains("NIM_PEFT_SOURCE", LoraAdapterInspector.CannotServe(Model() with { Runtime = ModelRuntime.Nim }), StringComparison.Ordinal);
        Assert.NotNull(LoraAdapterInspector.CannotServe(Model() with { Runtime = ModelRuntime.LaunchCluster }));
        Assert.NotNull(LoraAdapterInspector.CannotServe(Model() with { Task = ModelTask.Embed }));
    }

    [Fact]
    public void AnAdapterName_ClashesWithEveryOtherModelsNamesAndAdapters_AndFindsItsBase()
    {
        var withAdapter = Model() with { Adapters = [Adapter("legal")] };
        var other = Model("gpt-oss-20b", "openai/gpt-oss-20b") with { Aliases = ["chat"] };

        Assert.Null(ServedNames.Clash(withAdapter, [other]));
        Assert.NotNull(ServedNames.Clash(withAdapter with { Adapters = [Adapter("gpt-oss-20b")] }, [other]));
        Assert.NotNull(ServedNames.Clash(withAdapter with { Adapters = [Adapter("chat")] }, [other]));
        Assert.NotNull(ServedNames.Clash(other with { Adapters = [Adapter("legal")] }, [withAdapter]));
        Assert.NotNull(ServedNames.Clash(other with { ServedName = "legal" }, [withAdapter]));
        Assert.Equal("qwen3-8b", new CatalogSnapshot([withAdapter, other], []).FindByServedName("legal")?.Id);
    }

    private CatalogStore Store(string? customYaml = null)
    {
        if (customYaml is not null)
        {
            File.WriteAllText(_data.File(CatalogStore.CustomFileName), customYaml);
        }

        var store = new CatalogStore(new DataDirectory(_data.Path), new ModelCatalog(TimeProvider.System));
        store.SetSources([Model(), Model("gpt-oss-20b", "openai/gpt-oss-20b")], [], []);
        return store;
    }

    [Fact]
    public async Task Store_AttachesToAShippedModel_KeepsItInTheCustomFile_ChangesTheVersion_AndDetaches()
    {
        var store = Store();
        var before = CatalogStore.Version(store.Current.Find("qwen3-8b")!);

        var attached = await store.AttachAdapterAsync("qwen3-8b", Adapter("legal"), before, CancellationToken.None);
        var reread = Store();

        Assert.Equal([Adapter("legal")], attached.Adapters);
        Assert.NotEqual(before, CatalogStore.Version(attached));
        Assert.Equal([Adapter("legal")], reread.Current.Find("qwen3-8b")!.Adapters);
        await Assert.ThrowsAsync<StaleVersionException>(() => store.AttachAdapterAsync("qwen3-8b", Adapter("sql"), before, CancellationToken.None));
        await Assert.ThrowsAsync<SettingsConflictException>(() => store.AttachAdapterAsync("qwen3-8b", Adapter("legal"), null, CancellationToken.None));
        await Assert.ThrowsAsync<SettingsConflictException>(() => store.AttachAdapterAsync("gpt-oss-20b", Adapter("legal"), null, CancellationToken.None));
        await Assert.ThrowsAsync<SettingsConflictException>(() => store.AttachAdapterAsync("gpt-oss-20b", Adapter("qwen3-8b"), null, CancellationToken.None));

        var detached = await store.DetachAdapterAsync("qwen3-8b", "legal", null, CancellationToken.None);

        Assert.Empty(detached.Adapters);
        await Assert.ThrowsAsync<KeyNotFoundException>(() => store.DetachAdapterAsync("qwen3-8b", "legal", null, CancellationToken.None));
    }

    [Fact]
    public async Task Store_RefusesAdapterFieldsTheValidatorsRefuse()
    {
        var store = Store();

        foreach (var bad in new[] { Adapter("legal\n"), Adapter("legal") with { Path = "relative/legal" }, Adapter("legal", rank: 0), Adapter("legal") with { Spark = "spark 1" } })
        {
            await Assert.ThrowsAsync<ValidationFailedException>(() => store.AttachAdapterAsync("qwen3-8b", bad, null, CancellationToken.None));
        }

        Assert.False(File.Exists(_data.File(CatalogStore.CustomFileName)));
    }

    [Fact]
    public void Store_AHandEditedAdapterThatIsNotValid_IsReportedWithItsLine_AndLeftOut()
    {
        var store = Store("""
            adapters:
              - model: qwen3-8b
                name: legal
                spark: spark-1
                path: /home/nvidia/models/legal
                rank: 16
              - model: qwen3-8b
                name: "bad name"
                spark: spark-1
                path: /home/nvidia/models/other
                rank: 9999
            """);

        Assert.Equal(["legal"], store.Current.Find("qwen3-8b")!.Adapters.Select(a => a.Name));
        Assert.Contains(store.Current.Problems, p => p.Line == 8 && p.Message.Contains("name", StringComparison.Ordinal));
        Assert.Contains(store.Current.Problems, p => p.Line == 11 && p.Message.Contains("512", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Store_RemovingAnOperatorModel_RemovesItsAdapters()
    {
        var store = Store();
        var mine = await store.AddAsync(Model("mine", "org/mine"), CancellationToken.None);
        await store.AttachAdapterAsync(mine.Id, Adapter("mine-lora"), null, CancellationToken.None);

        await store.RemoveAsync(mine.Id, null, CancellationToken.None);
        await store.AddAsync(Model("mine", "org/mine"), CancellationToken.None);

        Assert.Empty(store.Current.Find("mine")!.Adapters);
        Assert.DoesNotContain("mine-lora", await File.ReadAllTextAsync(_data.File(CatalogStore.CustomFileName)), StringComparison.Ordinal);
    }

    public void Dispose() => _data.Dispose();
}
