using SparkControl.Core.Services;

namespace SparkControl.Tests.Core;

public sealed class PrometheusTextTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 26, 12, 0, 0, TimeSpan.Zero);

    /// <summary>The shape of a current vLLM's /metrics: HELP/TYPE comments, labels, counters with _total, histograms.</summary>
    private const string Current = """
        # HELP vllm:num_requests_running Number of requests in model execution batches.
        # TYPE vllm:num_requests_running gauge
        vllm:num_requests_running{engine="0",model_name="qwen3-8b"} 3.0
        # HELP vllm:num_requests_waiting Number of requests waiting to be processed.
        # TYPE vllm:num_requests_waiting gauge
        vllm:num_requests_waiting{engine="0",model_name="qwen3-8b"} 2.0
        # HELP vllm:kv_cache_usage_perc KV-cache usage. 1 means 100 percent usage.
        # TYPE vllm:kv_cache_usage_perc gauge
        vllm:kv_cache_usage_perc{engine="0",model_name="qwen3-8b"} 0.4125
        # TYPE vllm:prompt_tokens_total counter
        vllm:prompt_tokens_total{engine="0",model_name="qwen3-8b"} 1234.0
        # TYPE vllm:generation_tokens_total counter
        vllm:generation_tokens_total{engine="0",model_name="qwen3-8b"} 5000.0
        # TYPE vllm:request_success_total counter
        vllm:request_success_total{engine="0",finished_reason="stop",model_name="qwen3-8b"} 17.0
        # TYPE vllm:e2e_request_latency_seconds histogram
        vllm:e2e_request_latency_seconds_bucket{engine="0",le="0.3",model_name="qwen3-8b"} 1.0
        vllm:e2e_request_latency_seconds_bucket{engine="0",le="+Inf",model_name="qwen3-8b"} 17.0
        vllm:e2e_request_latency_seconds_sum{engine="0",model_name="qwen3-8b"} 42.5
        vllm:cache_config_info{block_size="16",cache_dtype="auto",gpu_memory_utilization="0.7",num_gpu_blocks="28448"} 1.0
        python_gc_objects_collected_total{generation="0"} 9823.0
        process_resident_memory_bytes 1.2345e+09
        """;

    [Fact]
    public void Parse_VllmText_ReadsNamesLabelsAndValuesAndSkipsComments()
    {
        var samples = PrometheusText.Parse(Current);

        Assert.DoesNotContain(samples, s => s.Name.StartsWith('#'));
        var info = Assert.Single(samples, s => s.Name == "vllm:cache_config_info");
        Assert.Equal("28448", info.Labels["num_gpu_blocks"]);
        Assert.Equal("0.7", info.Labels["gpu_memory_utilization"]);
        var bucket = samples.First(s => s.Name == "vllm:e2e_request_latency_seconds_bucket" && s.Labels["le"] == "+Inf");
        Assert.Equal(17.0, bucket.Value);
        Assert.Equal(1.2345e9, Assert.Single(samples, s => s.Name == "process_resident_memory_bytes").Value);
    }

    [Theory]
    [InlineData("metric_with_timestamp{a=\"b\"} 4 1700000000000", "metric_with_timestamp", 4)]
    [InlineData("no_labels 7.5", "no_labels", 7.5)]
    [InlineData("spaced{a=\"x y\",b=\"c,d\"} 1", "spaced", 1)]
    [InlineData("escaped{path=\"a\\\"b\"} 2", "escaped", 2)]
    [InlineData("nan_value NaN", "nan_value", double.NaN)]
    [InlineData("inf_value +Inf", "inf_value", double.PositiveInfinity)]
    [InlineData("neg_inf -Inf", "neg_inf", double.NegativeInfinity)]
    public void Parse_OddButValidLines(string line, string name, double value)
    {
        var sample = Assert.Single(PrometheusText.Parse(line));

        Assert.Equal(name, sample.Name);
        Assert.Equal(value, sample.Value);
    }

    [Fact]
    public void Parse_LabelsWithCommasInsideQuotes_StayWhole()
    {
        var sample = Assert.Single(PrometheusText.Parse("m{a=\"x y\",b=\"c,d\"} 1"));

        Assert.Equal("x y", sample.Labels["a"]);
        Assert.Equal("c,d", sample.Labels["b"]);
    }

    [Theory]
    [InlineData("garbage")]
    [InlineData("name notanumber")]
    [InlineData("{only=\"labels\"}")]
    [InlineData("   ")]
    public void Parse_Garbage_IsSkippedNotThrown(string line) => Assert.Empty(PrometheusText.Parse(line));

    [Fact]
    public void VllmMetrics_CurrentNames()
    {
        var metrics = VllmMetrics.From(Current, T0);

        Assert.Equal(3, metrics.RequestsRunning);
        Assert.Equal(2, metrics.RequestsWaiting);
        Assert.Equal(0.4125, metrics.KvCacheUsage);
        Assert.Equal(1234, metrics.PromptTokens);
        Assert.Equal(5000, metrics.GenerationTokens);
    }

    [Fact]
    public void VllmMetrics_OlderGpuCacheName_IsReadWhenTheNewOneIsMissing()
    {
        var older = """
            vllm:num_requests_running{model_name="m"} 1.0
            vllm:gpu_cache_usage_perc{model_name="m"} 0.25
            vllm:generation_tokens_total{model_name="m"} 10.0
            """;

        Assert.Equal(0.25, VllmMetrics.From(older, T0).KvCacheUsage);
    }

    [Fact]
    public void VllmMetrics_BothNames_PreferTheCurrentOne()
    {
        var both = "vllm:gpu_cache_usage_perc 0.9\nvllm:kv_cache_usage_perc 0.1\n";

        Assert.Equal(0.1, VllmMetrics.From(both, T0).KvCacheUsage);
    }

    [Fact]
    public void VllmMetrics_TwoEngines_AddRequestsAndAverageCacheUsage()
    {
        var twoEngines = """
            vllm:num_requests_running{engine="0",model_name="m"} 2
            vllm:num_requests_running{engine="1",model_name="m"} 5
            vllm:kv_cache_usage_perc{engine="0",model_name="m"} 0.2
            vllm:kv_cache_usage_perc{engine="1",model_name="m"} 0.6
            """;

        var metrics = VllmMetrics.From(twoEngines, T0);

        Assert.Equal(7, metrics.RequestsRunning);
        Assert.Equal(0.4, metrics.KvCacheUsage!.Value, 6);
    }

    [Fact]
    public void VllmMetrics_NotAModelServer_IsAllNull()
    {
        var metrics = VllmMetrics.From("process_cpu_seconds_total 12\n", T0);

        Assert.Null(metrics.RequestsRunning);
        Assert.Null(metrics.KvCacheUsage);
        Assert.Null(metrics.GenerationTokens);
    }

    [Fact]
    public void TokensPerSecond_IsTheCounterRateBetweenReadings()
    {
        var earlier = VllmMetrics.From("vllm:generation_tokens_total 1000\n", T0);
        var later = VllmMetrics.From("vllm:generation_tokens_total 1900\n", T0.AddSeconds(5));

        Assert.Equal(180, later.TokensPerSecondSince(earlier));
        Assert.Null(later.TokensPerSecondSince(null));
    }

    [Fact]
    public void TokensPerSecond_CounterReset_IsUnknownNotNegative()
    {
        // A restarted server starts its counters again from zero.
        var earlier = VllmMetrics.From("vllm:generation_tokens_total 1000\n", T0);
        var restarted = VllmMetrics.From("vllm:generation_tokens_total 20\n", T0.AddSeconds(5));

        Assert.Null(restarted.TokensPerSecondSince(earlier));
    }
}
