using SparkControl.Core.Catalog;
using SparkControl.Sim.Vllm;
using SparkControl.Core.Launch;

namespace SparkControl.Tests.Sim;

public sealed class VllmCliTests
{
    [Fact]
    public void Parse_TypicalCommand_ReadsTheOptions()
    {
        var (options, error) = VllmCli.Parse(["serve", "Qwen/Qwen3-8B", "--served-model-name", "qwen3-8b", "alias", "--port=8123", "--max-model-len", "32k", "--gpu-memory-utilization", "0.7", "-tp", "2", "--enforce-eager"]);

        Assert.Null(error);
        Assert.Equal("Qwen/Qwen3-8B", options!.Model);
        Assert.Equal(["qwen3-8b", "alias"], options.ServedModelNames.ToArray());
        Assert.Equal("qwen3-8b", options.ServedName);
        Assert.Equal(8123, options.Port);
        Assert.Equal(32000, options.MaxModelLen);
        Assert.Equal(0.7, options.GpuMemoryUtilization);
        Assert.Equal(2, options.TensorParallelSize);
        Assert.True(options.Given.ContainsKey("--enforce-eager"));
    }

    [Theory]
    [InlineData(new[] { "serve", "m", "--bogus-flag" }, "unrecognized arguments: --bogus-flag")]
    [InlineData(new[] { "serve", "m", "--port", "eighty" }, "argument --port: invalid int value: 'eighty'")]
    [InlineData(new[] { "serve", "m", "--gpu-memory-utilization", "lots" }, "invalid float value: 'lots'")]
    [InlineData(new[] { "serve", "m", "--kv-cache-dtype", "int3" }, "argument --kv-cache-dtype: invalid choice: 'int3'")]
    [InlineData(new[] { "serve", "m", "--port" }, "argument --port: expected one argument")]
    [InlineData(new[] { "serve" }, "the following arguments are required: model_tag")]
    [InlineData(new[] { "serve", "m", "extra" }, "unrecognized arguments: extra")]
    [InlineData(new[] { "serve", "m", "--enforce-eager=yes" }, "ignored explicit argument 'yes'")]
    [InlineData(new[] { "run", "m" }, "invalid choice: 'run'")]
    public void Parse_Rejected_LikeArgparse(string[] args, string message)
    {
        var (options, error) = VllmCli.Parse(args);

        Assert.Null(options);
        Assert.Equal(2, error!.ExitCode);
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_WhatTheCatalogBuilds_IsAccepted()
    {
        var model = new ModelDefinition
        {
            Id = "m",
            DisplayName = "m",
            Source = new HuggingFaceSource("org/model", "main"),
            ServedName = "served",
            Port = 8111,
            Flags = new VllmFlags
            {
                MaxModelLen = 8192,
                GpuMemoryUtilization = 0.42,
                MaxNumSeqs = 4,
                TensorParallelSize = 1,
                Quantization = "fp8",
                KvCacheDtype = "fp8",
                EnablePrefixCaching = false,
                EnforceEager = true,
                TrustRemoteCode = true,
                ToolCallParser = "hermes",
                ReasoningParser = "qwen3",
                ExtraArgs = ["--max-num-batched-tokens", "4096", "--seed=7"],
            },
        };

        var (options, error) = VllmCli.Parse(VllmArguments.Serve(model, "org/model"));

        Assert.Null(error);
        Assert.Equal("org/model", options!.Model);
        Assert.Equal("served", options.ServedName);
        Assert.Equal(8111, options.Port);
        Assert.Equal(8192, options.MaxModelLen);
        Assert.Equal(0.42, options.GpuMemoryUtilization);
        Assert.Equal(4, options.MaxNumSeqs);
        Assert.Equal("main", options.Given["--revision"]);
        Assert.Equal("4096", options.Given["--max-num-batched-tokens"]);
        Assert.True(options.Given.ContainsKey("--no-enable-prefix-caching"));
        Assert.True(options.Given.ContainsKey("--enable-auto-tool-choice"));
    }

    [Theory]
    [InlineData("0", "GPU memory utilization must be within (0, 1]")]
    [InlineData("1.5", "GPU memory utilization must be within (0, 1]")]
    public void ValidateEngineConfig_BadValue_FailsLikeTheEngine(string utilization, string message)
    {
        var (options, _) = VllmCli.Parse(["serve", "m", "--gpu-memory-utilization", utilization]);

        Assert.StartsWith("ValueError: " + message, VllmCli.ValidateEngineConfig(options!), StringComparison.Ordinal);
    }
}
