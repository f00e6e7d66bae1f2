using System.Globalization;
using SparkControl.Core.Sparks;
using SparkControl.Core.Units;
using SparkControl.Core.Validation;

namespace SparkControl.Web.Model;

/// <summary>
/// The Settings form's editable copy of a service. Numbers are kept as typed: text that is not a number is an error on
/// its field, never saved as an empty field or the previous value.
/// </summary>
public sealed class ServiceForm
{
    public string Spark { get; set; } = string.Empty;
    public string Name { get; set; } = string.Empty;
    public string Kind { get; set; } = "parakeet-asr";
    public string? Container { get; set; }
    public string? Port { get; set; }
    public string? GrpcPort { get; set; }
    public string? Url { get; set; }
    public string? HealthPath { get; set; }
    public string? MemoryLimit { get; set; }
    public string? MemoryEstimateGiB { get; set; }
    public string? LinkTitle { get; set; }
    public string? LinkUrl { get; set; }

    /// <summary>Audio model names: models separated by ';', each its name then its aliases, separated by ','.</summary>
    public string? ModelNames { get; set; }

    public string? MaxInFlight { get; set; }

    /// <summary>Not edited in the form, carried so that saving keeps what a sweep measured.</summary>
    public int? MeasuredKnee { get; set; }

    public static ServiceForm From(ServiceDefinition service) => new()
    {
        Spark = service.Spark,
        Name = service.Name,
        Kind = service.Kind.ToYaml(),
        Container = service.Container,
        Port = service.Port?.ToString(CultureInfo.InvariantCulture),
        GrpcPort = service.GrpcPort?.ToString(CultureInfo.InvariantCulture),
        Url = service.Url,
        HealthPath = service.HealthPath,
        MemoryLimit = service.MemoryLimitBytes is { } bytes ? ByteSize.Format(bytes) : null,
        MemoryEstimateGiB = service.MemoryEstimateGiB?.ToString(CultureInfo.InvariantCulture),
        LinkTitle = service.Links.FirstOrDefault()?.Title,
        LinkUrl = service.Links.FirstOrDefault()?.Url,
        ModelNames = string.Join("; ", service.Models.Select(m => string.Join(", ", m.Aliases.Prepend(m.Name)))),
        MaxInFlight = service.MaxInFlight?.ToString(CultureInfo.InvariantCulture),
        MeasuredKnee = service.MeasuredKnee,
    };

    /// <summary>The service as typed, and every problem with it, each naming its field (the API's rules for the rest).</summary>
    public IReadOnlyList<FieldError> Read(out ServiceDefinition? service)
    {
        var errors = new List<FieldError>();
        errors.AddIf("port", Validators.WholeNumber(Port, out var port, "port"));
        errors.AddIf("grpcPort", Validators.WholeNumber(GrpcPort, out var grpcPort, "grpcPort"));
        errors.AddIf("memoryEstimateGiB", Validators.Number(MemoryEstimateGiB, out var estimate, "memoryEstimateGiB"));
        errors.AddIf("maxInFlight", Validators.WholeNumber(MaxInFlight, out var maxInFlight, "maxInFlight"));
        var body = new ServiceInput.ServiceBody(
            Spark, Name.Trim(), Kind, Blank(Container), port, Blank(Url), Blank(HealthPath), Blank(MemoryLimit), estimate,
            string.IsNullOrWhiteSpace(LinkUrl) ? [] : [new ServiceInput.LinkBody(string.IsNullOrWhiteSpace(LinkTitle) ? "Open" : LinkTitle.Trim(), LinkUrl.Trim())])
        {
            Models = ParseModelNames(ModelNames),
            MaxInFlight = maxInFlight,
            MeasuredKnee = MeasuredKnee,
            GrpcPort = grpcPort,
        };
        errors.AddRange(ServiceInput.Read(body, out service).Where(e => errors.All(known => known.Field != e.Field)));
        if (errors.Count > 0)
        {
            service = null;
        }

        return errors;
    }

    /// <summary>"name, alias; other" as model names; the validators see every part as typed (an empty part is an error there).</summary>
    public static ServiceInput.ModelNameBody[] ParseModelNames(string? text) => string.IsNullOrWhiteSpace(text) ? [] :
        [.. text.Split(';').Where(m => !string.IsNullOrWhiteSpace(m)).Select(m => m.Split(',').Select(p => p.Trim()).ToArray()).Select(parts => new ServiceInput.ModelNameBody(parts[0], parts[1..]))];

    private static string? Blank(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();
}
