using SparkControl.Core.Catalog;
using SparkControl.Sim.Demo;

namespace SparkControl.Tests.Core;

public sealed class CatalogYamlTests
{
    private const string Sample = """
        models:
          - id: qwen3-8b
            displayName: Qwen3 8B
            source: { hf: Qwen/Qwen3-8B, revision: main }
            aliases: [default-chat]
            port: 8000
            vllm:
              maxModelLen: 32768
              gpuMemoryUtilization: 0.7
              enablePrefixCaching: true
              toolCallParser: hermes
              extraArgs: ["--max-num-batched-tokens", "8192"]
            downloadSizeGiB: 16.4
          - id: my-ft
            source: { local: /home/nvidia/models/my-ft, spark: spark-1 }
        """;

    [Fact]
    public void Read_Sample_GivesTypedModels()
    {
        var (models, problems) = CatalogYaml.Read(Sample, "models.yaml", ModelOrigin.Shipped);

        Assert.Empty(problems);
        Assert.Equal(2, models.Length);
        var qwen = models[0];
        Assert.Equal(new HuggingFaceSource("Qwen/Qwen3-8B", "main"), qwen.Source);
        Assert.Equal(["default-chat"], qwen.Aliases);
        Assert.Equal(0.7, qwen.Flags.GpuMemoryUtilization);
        Assert.True(qwen.Flags.EnablePrefixCaching);
        Assert.Equal(["--max-num-batched-tokens", "8192"], qwen.Flags.ExtraArgs);
        var local = models[1];
        Assert.Equal(new LocalSource("spark-1", "/home/nvidia/models/my-ft"), local.Source);
        Assert.Equal("my-ft", local.ServedName);
        Assert.Equal(ModelRuntime.Vllm, local.Runtime);
    }

    [Fact]
    public void WriteThenRead_RoundTripsEveryField()
    {
        var model = new ModelDefinition
        {
            Id = "round-trip",
            DisplayName = "Round: trip #1",
            Source = new HuggingFaceSource("org/name", "v1.0"),
            ServedName = "served/name",
            Aliases = ["a", "b"],
            Runtime = ModelRuntime.LaunchCluster,
            Placement = ModelPlacement.Cluster,
            Task = ModelTask.Embed,
            Port = 8123,
            Image = "nvcr.io/nvidia/vllm:25.10-py3",
            Flags = new VllmFlags
            {
                MaxModelLen = 4096,
                GpuMemoryUtilization = 0.55,
                MaxNumSeqs = 3,
                TensorParallelSize = 2,
                Quantization = "fp8",
                KvCacheDtype = "fp8",
                EnablePrefixCaching = false,
                EnforceEager = true,
                TrustRemoteCode = true,
                ToolCallParser = "hermes",
                ReasoningParser = "qwen3",
                ExtraArgs = ["--seed", "42"],
            },
            MemoryEstimateGiB = 12.5,
            DownloadSizeGiB = 9.75,
            Notes = "yes: \"quoted\" and 'single'",
            IdleUnloadAfter = TimeSpan.FromMinutes(90),
        };
        var yaml = new SparkControl.Core.Yaml.YamlWriter().Add("models", [CatalogYaml.WriteModel(model)]).ToYaml();

        var (models, problems) = CatalogYaml.Read(yaml, "x.yaml", ModelOrigin.Shipped);

        Assert.Empty(problems);
        Assert.Equal(model, Assert.Single(models));
    }

    [Theory]
    [InlineData("models:\n  - id: Bad Id\n    source: { hf: a/b }\n", 2, "id 'Bad Id'")]
    [InlineData("models:\n  - id: ok\n    source: { hf: a/b }\n    prot: 8000\n", 4, "unknown field 'prot'")]
    [InlineData("models:\n  - id: ok\n    source: { hf: a/b }\n    port: eighty\n", 4, "whole number")]
    [InlineData("models:\n  - id: ok\n    source: { hf: \"a--b/c\" }\n", 3, "which Hugging Face forbids")]
    [InlineData("models:\n  - id: ok\n    source: { hf: \"-a/b\" }\n", 3, "not a Hugging Face repo id")]
    [InlineData("models:\n  - id: ok\n    source: { local: relative/path, spark: s1 }\n", 3, "must be absolute")]
    [InlineData("models:\n  - id: ok\n", 2, "'source' is required")]
    [InlineData("models:\n  - id: ok\n    source: { hf: a/b }\n    vllm: { gpuMemoryUtilization: 1.5 }\n", 4, "gpuMemoryUtilization")]
    [InlineData("models:\n  - id: ok\n    source: { hf: a/b }\n    vllm: { extraArgs: [\"--port\", \"1\"] }\n", 4, "set by the panel")]
    [InlineData("models: [\n", 2, "not valid YAML")]
    [InlineData("models:\n  - id: ok\n    source: { hf: a/b }\n    idleUnloadAfter: \"00:00:00\"\n", 4, "between 1 second and 30 days")]
    [InlineData("models:\n  - id: ok\n    source: { hf: a/b }\n    idleUnloadAfter: \"31.00:00:00\"\n", 4, "between 1 second and 30 days")]
    [InlineData("models:\n  - id: ok\n    source: { hf: a/b }\n    idleUnloadAfter: soon\n", 4, "must be a duration like")]
    public void Read_Problems_NameTheLine(string yaml, int line, string message)
    {
        var (_, problems) = CatalogYaml.Read(yaml, "models.yaml", ModelOrigin.Shipped);

        var problem = Assert.Single(problems, p => p.Message.Contains(message, StringComparison.Ordinal));
        Assert.Equal(line, problem.Line);
        Assert.Equal("models.yaml", problem.File);
    }

    [Fact]
    public void Read_DuplicateIds_KeepsTheFirstAndReportsTheSecond()
    {
        var (models, problems) = CatalogYaml.Read("models:\n  - id: a\n    source: { hf: o/a }\n  - id: a\n    source: { hf: o/b }\n", "m.yaml", ModelOrigin.Shipped);

        Assert.Equal("o/a", ((HuggingFaceSource)Assert.Single(models).Source).Repo);
        Assert.Contains(problems, p => p.Message.Contains("more than once", StringComparison.Ordinal) && p.Line == 4);
    }

    [Fact]
    public void Read_ServedNameClash_KeepsTheFirstAndReportsTheSecond_WhileAliasesMayBeShared()
    {
        const string yaml = """
            models:
              - id: a
                source: { hf: o/a }
                aliases: [default-chat]
              - id: b
                source: { hf: o/b }
                aliases: [default-chat]
              - id: c
                source: { hf: o/c }
                servedName: a
            """;

        var (models, problems) = CatalogYaml.Read(yaml, "m.yaml", ModelOrigin.Shipped);

        Assert.Equal(["a", "b"], models.Select(m => m.Id));
        var problem = Assert.Single(problems);
        Assert.Equal(8, problem.Line);
        Assert.Equal("model 'c': served name 'a' is already used by model 'a'", problem.Message);
    }

    [Fact]
    public void LoadCatalog_Demo_SharesDefaultChatWithoutProblems()
    {
        var demo = DemoSpark.LoadCatalog();

        Assert.Empty(demo.Problems);
        Assert.True(demo.Models.Count(m => m.Aliases.Contains("default-chat")) >= 2);
    }

    [Fact]
    public void Read_ShippedModelsYaml_HasNoProblems()
    {
        var path = Path.Combine(Infrastructure.Tools.RepositoryRoot, "models.yaml");

        var (models, problems) = CatalogYaml.Read(File.ReadAllText(path), path, ModelOrigin.Shipped);

        Assert.Empty(problems);
        Assert.NotEmpty(models);
        Assert.All(models, m => Assert.Empty(VllmFlagRules.Validate(m.Flags)));
    }
}
