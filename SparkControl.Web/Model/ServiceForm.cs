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

    /// <summary>Audio model names: models separated by ';', each its name then its aliases, separated by ','.</summary>
    public string? ModelNames { get; set; }

    public int? MaxInFlight { get; set; }

    /// <summary>Not edited in the form, carried so that saving keeps what a sweep measured.</summary>
    public int? MeasuredKnee { get; set; }

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
        ModelNames = string.Join("; ", service.Models.Select(m => string.Join(", ", m.Aliases.Prepend(m.Name)))),
        MaxInFlight = service.MaxInFlight,
        MeasuredKnee = service.MeasuredKnee,
    };

    public ServiceInput.ServiceBody ToBody() => new(
        Spark, Name.Trim(), Kind, Blank(Container), Port, Blank(Url), Blank(HealthPath), Blank(MemoryLimit), MemoryEstimateGiB,
        string.IsNullOrWhiteSpace(LinkUrl) ? [] : [new ServiceInput.LinkBody(string.IsNullOrWhiteSpace(LinkTitle) ? "Open" : LinkTitle.Trim(), LinkUrl.Trim())])
    {
        Models = ParseModelNames(ModelNames),
        MaxInFlight = MaxInFlight,
        MeasuredKnee = MeasuredKnee,
    };

    /// <summary>"name, alias; other" as model names; the validators see every part as typed (an empty part is an error there).</summary>
    public static ServiceInput.ModelNameBody[] ParseModelNames(string? text) => string.IsNullOrWhiteSpace(text) ? [] :
        [.. text.Split(';').Where(m => !string.IsNullOrWhiteSpace(m)).Select(m => m.Split(',').Select(p => p.Trim()).ToArray()).Select(parts => new ServiceInput.ModelNameBody(parts[0], parts[1..]))];

    private static string? Blank(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();
}
