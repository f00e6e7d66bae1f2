using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;

namespace SparkControl.Web.Api;

/// <summary>
/// A request the framework could not bind, told in the panel's words: which field, and what to send instead. The
/// framework's own messages name internal types ("…ModelInput+AddModelBody", "System.Int32") and its own wiring
/// ("Implicit body inferred…"); none of that reaches a caller.
/// </summary>
public static partial class RequestProblems
{
    public const string JsonMediaType = "application/json";

    public static ProblemDetails Describe(HttpContext context, Exception exception)
    {
        // The exception handler has cleared the request's endpoint by now; its feature keeps the one that failed.
        var endpoint = context.Features.Get<Microsoft.AspNetCore.Diagnostics.IExceptionHandlerFeature>()?.Endpoint ?? context.GetEndpoint();
        var accepts = endpoint?.Metadata.GetMetadata<IAcceptsMetadata>();
        var options = context.RequestServices.GetRequiredService<IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions>>().Value.SerializerOptions;
        var json = exception as JsonException ?? exception.InnerException as JsonException;
        var status = (exception as BadHttpRequestException)?.StatusCode ?? StatusCodes.Status400BadRequest;
        if (status == StatusCodes.Status415UnsupportedMediaType)
        {
            var wanted = accepts?.ContentTypes.Count > 0 ? string.Join(" or ", accepts.ContentTypes) : JsonMediaType;
            return Problem(status, "The body's Content-Type is not accepted", $"Send Content-Type: {wanted} with the body (this request sent {Sent(context.Request.ContentType)}).");
        }

        if (json is not null)
        {
            return DescribeJson(json, accepts?.RequestType, options);
        }

        if (status == StatusCodes.Status400BadRequest && accepts?.RequestType is { } body && !HasBody(context.Request))
        {
            return Problem(status, "The request has no body", $"Send a JSON body with {Fields(body, options)} (Content-Type: {JsonMediaType}).");
        }

        if (exception is BadHttpRequestException bad && Parameter(endpoint, bad.Message) is { } parameter)
        {
            return parameter;
        }

        return Problem(status, "The request could not be read", exception is BadHttpRequestException ? Scrub(exception.Message) : "The request could not be read.");
    }

    /// <summary>Whether the request carries a body the framework would try to read.</summary>
    public static bool HasBody(HttpRequest request) => request.ContentLength > 0 || (request.ContentLength is null && request.Headers.TransferEncoding.Count > 0);

    private static ProblemDetails DescribeJson(JsonException json, Type? body, JsonSerializerOptions options)
    {
        var path = json.Path ?? "$";
        var field = path == "$" ? "body" : path.TrimStart('$', '.');
        // A reader error is broken JSON (its own message says what and where); any other is a value of the wrong type.
        if (json.GetType() != typeof(JsonException) || json.InnerException is JsonException)
        {
            var where = json.LineNumber is { } line ? $" (line {line + 1}, position {json.BytePositionInLine + 1})" : string.Empty;
            return Problem(StatusCodes.Status400BadRequest, "The body is not valid JSON", $"The body is not valid JSON at {path}{where}: {Scrub((json.InnerException as JsonException ?? json).Message)}", field, "not valid JSON");
        }

        var expected = body is not null && TypeAt(body, path, options) is { } type ? $"expected {Kind(type, options)}" : "this value has the wrong type";
        return Problem(StatusCodes.Status400BadRequest, "A value in the body has the wrong type", $"{path}: {expected}.", field, expected);
    }

    private static ProblemDetails? Parameter(Endpoint? endpoint, string message)
    {
        var method = endpoint?.Metadata.GetMetadata<MethodInfo>();
        if (FailedToBind().Match(message) is { Success: true } failed)
        {
            var name = failed.Groups["name"].Value;
            var type = method?.GetParameters().FirstOrDefault(p => p.Name == name)?.ParameterType;
            var expected = type is null ? "a value of another kind" : Kind(type, JsonSerializerOptions.Web);
            return Problem(StatusCodes.Status400BadRequest, $"{name} is not valid", $"{name}: expected {expected}, got \"{Core.Validation.Validators.Printable(failed.Groups["value"].Value)}\".", name, $"expected {expected}");
        }

        if (NotProvided().Match(message) is { Success: true } missing)
        {
            var name = missing.Groups["name"].Value;
            return Problem(StatusCodes.Status400BadRequest, $"{name} is missing", $"{name} is required: send it in the {missing.Groups["source"].Value}.", name, "required");
        }

        return null;
    }

    private static ProblemDetails Problem(int status, string title, string detail, string? field = null, string? message = null)
    {
        ProblemDetails problem = field is null ? new ProblemDetails() : new ValidationProblemDetails(new Dictionary<string, string[]> { [field] = [message!] });
        problem.Status = status;
        problem.Title = title;
        problem.Detail = detail;
        return problem;
    }

    private static string Sent(string? contentType) => string.IsNullOrEmpty(contentType) ? "none" : Core.Validation.Validators.Printable(contentType);

    /// <summary>The framework's position suffix ("Path: $.x | LineNumber: 0 | BytePositionInLine: 9.") is said once, our way.</summary>
    private static string Scrub(string message)
    {
        var cut = message.IndexOf(" Path: ", StringComparison.Ordinal) is >= 0 and var p ? p : message.IndexOf(" LineNumber: ", StringComparison.Ordinal);
        var text = cut >= 0 ? message[..cut] : message;
        return ClrName().Replace(text, "a value");
    }

    private static string Fields(Type type, JsonSerializerOptions options)
    {
        var info = options.GetTypeInfo(type);
        return info.Kind == JsonTypeInfoKind.Object && info.Properties.Count > 0
            ? string.Join(", ", info.Properties.Select(p => $"\"{p.Name}\" ({Kind(p.PropertyType, options)})"))
            : Kind(type, options);
    }

    /// <summary>The type a JSON path ($.a.b[0].c) lands on in the body's type, or null when it cannot be followed.</summary>
    private static Type? TypeAt(Type body, string path, JsonSerializerOptions options)
    {
        var type = body;
        foreach (Match step in PathStep().Matches(path))
        {
            var info = options.GetTypeInfo(Nullable.GetUnderlyingType(type) ?? type);
            if (step.Groups["index"].Success)
            {
                type = info.ElementType;
            }
            else
            {
                var name = step.Groups["name"].Success ? step.Groups["name"].Value : step.Groups["quoted"].Value;
                type = info.Properties.FirstOrDefault(p => string.Equals(p.Name, name, options.PropertyNameCaseInsensitive ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal))?.PropertyType;
            }

            if (type is null)
            {
                return null;
            }
        }

        return type;
    }

    private static string Kind(Type type, JsonSerializerOptions options)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        if (type.IsEnum)
        {
            return "one of " + string.Join(", ", Enum.GetNames(type).Select(n => $"\"{JsonNamingPolicy.CamelCase.ConvertName(n)}\""));
        }

        return Type.GetTypeCode(type) switch
        {
            TypeCode.String or TypeCode.Char => "a string",
            TypeCode.Boolean => "true or false",
            TypeCode.Byte or TypeCode.SByte or TypeCode.Int16 or TypeCode.UInt16 or TypeCode.Int32 or TypeCode.UInt32 or TypeCode.Int64 or TypeCode.UInt64 => "a number",
            TypeCode.Single or TypeCode.Double or TypeCode.Decimal => "a number",
            TypeCode.DateTime => "a date and time (ISO 8601)",
            _ when type == typeof(DateTimeOffset) => "a date and time (ISO 8601)",
            _ when type == typeof(TimeSpan) => "a duration (hh:mm:ss)",
            _ when type == typeof(Guid) => "a GUID string",
            _ => options.GetTypeInfo(type) switch
            {
                { Kind: JsonTypeInfoKind.Enumerable, ElementType: { } element } => $"an array of {Plural(Kind(element, options))}",
                { Kind: JsonTypeInfoKind.Dictionary } => "a JSON object of names and values",
                _ => "a JSON object",
            },
        };
    }

    private static string Plural(string kind) => kind switch
    {
        "a string" => "strings",
        "a number" => "numbers",
        "true or false" => "true/false values",
        "a JSON object" => "JSON objects",
        _ => kind,
    };

    [GeneratedRegex(@"\.(?<name>[^.\[]+)|\['(?<quoted>[^']*)'\]|\[(?<index>\d+)\]")]
    private static partial Regex PathStep();

    [GeneratedRegex("^Failed to bind parameter \"[^\"]* (?<name>[^\" ]+)\" from \"(?<value>.*)\"\\.$")]
    private static partial Regex FailedToBind();

    [GeneratedRegex("^Required parameter \"[^\"]* (?<name>[^\" ]+)\" was not provided from (?<source>[^.]+)\\.$")]
    private static partial Regex NotProvided();

    /// <summary>A dotted CLR type name (System.Int32, SparkControl.Web.Model.ModelInput+AddModelBody).</summary>
    [GeneratedRegex(@"\b(System|SparkControl|Microsoft)(\.[\w`+\[\],]+)+")]
    private static partial Regex ClrName();
}
