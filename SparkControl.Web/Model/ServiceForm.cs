using SparkControl.Core.Sparks;
using SparkControl.Core.Units;

namespace SparkControl.Web.Model;

/// <summary>The Settings form's editable copy of a service.</summary>
public sealed class ServiceForm
{
    public string Spark { get; set; } = string.Empty;
    public string Name { get; set; } = string.Empty;
    public string Kind { get; set; } = "parakeet-asr";
    public string? Container { get; set; }
    public int? Port { get; set; }
    public string? Url { get; set; }
    public string? HealthPath { get; set; }
    public string? MemoryLimit { get; set; }
    public double? MemoryEstimateGiB { get; set; }
    public string? LinkTitle { get; set; }
    public string? LinkUrl { get; set; }

    public static ServiceForm From(ServiceDefinition service) => new()
    {
        Spark = service.Spark,
        Name = service.Name,
        Kind = service.Kind.ToYaml(),
        Container = service.Container,
        Port = service.Port,
        Url = service.Url,
        HealthPath = service.HealthPath,
        MemoryLimit = service.MemoryLimitBytes is { } bytes ? ByteSize.Format(bytes) : null,
        MemoryEstimateGiB = service.MemoryEstimateGiB,
        LinkTitle = service.Links.FirstOrDefault()?.Title,
        LinkUrl = service.Links.FirstOrDefault()?.Url,
    };

    public ServiceInput.ServiceBody ToBody() => new(
        Spark, Name.Trim(), Kind, Blank(Container), Port, Blank(Url), Blank(HealthPath), Blank(MemoryLimit), MemoryEstimateGiB,
        string.IsNullOrWhiteSpace(LinkUrl) ? [] : [new ServiceInput.LinkBody(string.IsNullOrWhiteSpace(LinkTitle) ? "Open" : LinkTitle.Trim(), LinkUrl.Trim())]);

    private static string? Blank(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();
}
