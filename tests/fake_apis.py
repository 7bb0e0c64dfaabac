"""A local stand-in for the KOBIS and KMDb open APIs, for tests/test_collect.py.

    server = FakeApis(make_catalogue()); server.start()
    env = {"KOBIS_API_URL": server.kobis_url, "KMDB_API_URL": server.kmdb_url, ...}
    ...; server.ok_counts(); server.stop()

It serves a small film catalogue over several KOBIS pages and answers KMDb
title searches the way KMDb does (substring search, " !HS "/" !HE " markers,
a year window). Every film says what the collector must make of it, so the
tests compare against intent rather than against the collector's own code.
Faults are scripted per request: 500, 429, a response slower than the
client's timeout, malformed JSON, a quota fault after N answers, and a
request held open so a test can kill the client mid-run. Every request is
logged with its outcome.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# Distinctive, so a leak anywhere is found by a plain byte search.
KOBIS_KEY = "kobiskey-5f1c9a7e3b"
KMDB_KEY = "KMDBKEY8Q2W4E6R"

# What the collector should drop a film for (None: the film is in the dataset).
ADULT, YEARS, NOT_FEATURE, NO_GENRE = "adult", "years", "not_feature", "no_genre"
NO_MATCH, NO_KOREAN_PLOT, AMBIGUOUS, DUPLICATE = "no_match", "no_korean_plot", "ambiguous", "duplicate"
LOOKED_UP = {None, NO_MATCH, NO_KOREAN_PLOT, AMBIGUOUS, DUPLICATE}  # films the film rules let through


@dataclass
class FakeFilm:
    code: str
    title: str
    year: int
    genre: str = "드라마"
    type: str = "장편"
    nation: str = "한국"
    directors: tuple[str, ...] = ()
    genres: tuple[str, ...] = ()  # what the dataset must say, in GENRES order
    synopsis: str | None = None  # what the dataset must say
    dropped_by: str | None = None

    def kobis_item(self) -> dict:
        return {
            "movieCd": self.code,
            "movieNm": self.title,
            "movieNmEn": "",
            "prdtYear": str(self.year),
            "openDt": "",
            "typeNm": self.type,
            "prdtStatNm": "개봉",
            "nationAlt": self.nation,
            "genreAlt": self.genre,
            "repNationNm": self.nation.split(",")[0],
            "repGenreNm": self.genre.split(",")[0],
            "directors": [{"peopleNm": name} for name in self.directors],
            "companys": [],
        }

    def expected_row(self) -> dict:
        return {
            "id": self.code,
            "title": self.title,
            "year": self.year,
            "nation": self.nation,
            "genres": list(self.genres),
            "synopsis": self.synopsis,
        }


@dataclass
class KmdbEntry:
    title: str
    year: int
    plot: str | None = None  # the Korean plot
    nation: str = "대한민국"
    directors: tuple[str, ...] = ()
    english_plot: str | None = "An English plot."
    doc_id: str = ""

    def result(self, query: str) -> dict:
        plots = [{"plotLang": "한국어", "plotText": self.plot}] if self.plot else []
        if self.english_plot:
            plots.append({"plotLang": "영어", "plotText": self.english_plot})
        marked = self.title.replace(query, f" !HS {query} !HE ") if query in self.title else self.title
        return {
            "DOCID": self.doc_id,
            "title": marked,
            "titleEng": "",
            "prodYear": str(self.year),
            "nation": self.nation,
            "type": "극영화",
            "directors": {"director": [{"directorNm": name, "directorEnNm": ""} for name in self.directors]},
            "plots": {"plot": plots},
        }


@dataclass
class Catalogue:
    films: list[FakeFilm]
    kmdb: list[KmdbEntry]

    def expected_rows(self) -> list[dict]:
        return [film.expected_row() for film in self.films if film.dropped_by is None]


def _plot(subject: str) -> str:
    return f"{subject}. 오래된 비밀을 품은 사람들이 한 자리에 모이고, 아무도 예상하지 못한 선택이 모두의 운명을 바꾼다."


_FILLER_GENRES = [
    ("드라마", ("드라마",)),
    ("액션,스릴러", ("스릴러", "액션")),
    ("멜로/로맨스,드라마", ("드라마", "멜로", "로맨스")),
    ("SF,어드벤처", ("SF", "어드벤처")),
    ("애니메이션,가족", ("가족", "애니메이션")),
    ("다큐멘터리", ("다큐멘터리",)),
    ("미스터리,범죄", ("미스터리", "범죄")),
    ("사극,전쟁", ("사극", "전쟁")),
    ("판타지,뮤지컬", ("뮤지컬", "판타지")),
    ("서부극(웨스턴)", ("서부극(웨스턴)",)),
    ("공연", ("공연",)),
    ("코미디,가족", ("가족", "코미디")),
]


def make_catalogue() -> Catalogue:
    films: list[FakeFilm] = []
    kmdb: list[KmdbEntry] = []

    def film(title: str, year: int, **fields) -> FakeFilm:
        made = FakeFilm(code=f"2024{len(films) + 1:04d}", title=title, year=year, **fields)
        films.append(made)
        return made

    def entry(title: str, year: int, **fields) -> None:
        kmdb.append(KmdbEntry(title=title, year=year, doc_id=f"K{len(kmdb) + 1:05d}", **fields))

    film(
        "검은 항로",
        2019,
        genre="액션,범죄",
        directors=("한감독",),
        genres=("범죄", "액션"),
        synopsis=_plot("검은 항로"),
    )
    entry("검은 항로", 2019, plot=_plot("검은 항로"), directors=("한감독",))
    # Same title, same year: director and nation pick the Korean film; "그 집 2" only shares a substring.
    film(
        "그 집", 2015, genre="공포(호러)", directors=("김감독",), genres=("공포(호러)",), synopsis=_plot("그 집, 한국")
    )
    entry("그 집", 2015, plot=_plot("그 집, 미국"), nation="미국", directors=("John Smith",))
    entry("그 집", 2015, plot=_plot("그 집, 한국"), directors=("김감독",))
    entry("그 집 2", 2016, plot=_plot("그 집 2"))
    # The production year decides.
    film("동창회", 2012, genre="코미디", genres=("코미디",), synopsis=_plot("동창회 2012"))
    entry("동창회", 2011, plot=_plot("동창회 2011"))
    entry("동창회", 2012, plot=_plot("동창회 2012"))
    # The director decides.
    film(
        "하얀 밤",
        2010,
        genre="멜로/로맨스",
        directors=("박감독",),
        genres=("멜로", "로맨스"),
        synopsis=_plot("하얀 밤, 박"),
    )
    entry("하얀 밤", 2010, plot=_plot("하얀 밤, 최"), directors=("최감독",))
    entry("하얀 밤", 2010, plot=_plot("하얀 밤, 박"), directors=("박감독",))
    # The nation decides (KOBIS writes 한국, KMDb 대한민국).
    film("푸른 언덕", 2016, genre="가족", genres=("가족",), synopsis=_plot("푸른 언덕, 한국"))
    entry("푸른 언덕", 2016, plot=_plot("푸른 언덕, 일본"), nation="일본")
    entry("푸른 언덕", 2016, plot=_plot("푸른 언덕, 한국"))
    # Spacing and punctuation differ between the two databases.
    film("미스터 김: 귀환", 2018, genre="액션,코미디", genres=("액션", "코미디"), synopsis=_plot("미스터 김"))
    entry("미스터 김 : 귀환", 2018, plot=_plot("미스터 김"))
    # KMDb lists the film a year earlier than KOBIS.
    film("겨울 나그네", 2019, genre="드라마", genres=("드라마",), synopsis=_plot("겨울 나그네"))
    entry("겨울 나그네", 2018, plot=_plot("겨울 나그네"))
    # An unknown genre name is reported, the known one kept.
    film("실험실", 2019, genre="드라마,실험", genres=("드라마",), synopsis=_plot("실험실"))
    entry("실험실", 2019, plot=_plot("실험실"))
    # Faults on the first attempts (see DEFAULT_FAULTS); the retries succeed.
    for title in ("느린 답장", "깨진 편지", "바쁜 서버"):
        film(title, 2018, genre="스릴러", genres=("스릴러",), synopsis=_plot(title))
        entry(title, 2018, plot=_plot(title))
    # Films without a synopsis.
    film("별의 노래", 2014, dropped_by=NO_MATCH)
    entry("별의 노래 2", 2015, plot=_plot("별의 노래 2"))
    film("아무도 모른다", 2011, dropped_by=NO_MATCH)
    film("먼 나라", 2017, dropped_by=NO_KOREAN_PLOT)
    entry("먼 나라", 2017)
    film("거울", 2014, dropped_by=AMBIGUOUS)
    entry("거울", 2014, plot=_plot("거울, 첫째"), directors=("정감독",))
    entry("거울", 2014, plot=_plot("거울, 둘째"), directors=("윤감독",))
    # The same synopsis twice, spaced differently: only the first film keeps it.
    film("쌍둥이 별", 2013, genre="SF", genres=("SF",), synopsis=_plot("쌍둥이 별"))
    entry("쌍둥이 별", 2013, plot=_plot("쌍둥이 별"))
    film("쌍둥이 별 리마스터", 2020, dropped_by=DUPLICATE)
    entry("쌍둥이 별 리마스터", 2020, plot="  " + _plot("쌍둥이 별").replace(" ", "   ").replace(".", ".\n"))
    # Dropped by the film rules, and so never looked up (each would have a KMDb match).
    film("밤의 유혹", 2015, genre="성인물(에로)", dropped_by=ADULT)
    film("세기말", 1999, dropped_by=YEARS)
    film("짧은 여름", 2016, type="단편", dropped_by=NOT_FEATURE)
    film("세 개의 이야기", 2012, type="옴니버스", dropped_by=NOT_FEATURE)
    film("무제", 2016, genre="기타", dropped_by=NO_GENRE)
    for title, year in (
        ("밤의 유혹", 2015),
        ("세기말", 1999),
        ("짧은 여름", 2016),
        ("세 개의 이야기", 2012),
        ("무제", 2016),
    ):
        entry(title, year, plot=_plot(title))
    # Titles that contain each other ("바다의 기억 1" is in "바다의 기억 10") within one year window.
    for number, (genre, genres) in enumerate(_FILLER_GENRES, start=1):
        title = f"바다의 기억 {number}"
        film(title, 2010 + number % 3, genre=genre, genres=genres, synopsis=_plot(title))
        entry(title, 2010 + number % 3, plot=_plot(title))
    # The bulk of a real KOBIS list: adult films and shorts, filling the pages.
    for number in range(200):
        if number % 2:
            film(f"필름 {number}", 2005 + number % 15, genre="성인물(에로)", dropped_by=ADULT)
        else:
            film(f"필름 {number}", 2005 + number % 15, type="단편", dropped_by=NOT_FEATURE)
    return Catalogue(films=films, kmdb=kmdb)


# Scripted faults: (api, curPage or title) -> what the first attempts get, in order.
DEFAULT_FAULTS = {
    ("kobis", "2"): ["500"],
    ("kmdb", "느린 답장"): ["slow"],
    ("kmdb", "깨진 편지"): ["malformed"],
    ("kmdb", "바쁜 서버"): ["500", "429"],
}


@dataclass
class FakeApis:
    catalogue: Catalogue
    faults: dict[tuple[str, str], list[str]] = field(
        default_factory=lambda: {k: list(v) for k, v in DEFAULT_FAULTS.items()}
    )
    slow_s: float = 3.0
    quota: dict[str, int | None] = field(default_factory=lambda: {"kobis": None, "kmdb": None})  # answers allowed
    hold_kmdb_after: int | None = None  # the KMDb request after this many answers waits for `release`
    log: list[tuple[str, tuple, str]] = field(default_factory=list)  # (api, request without key, outcome)
    held: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def kobis_url(self) -> str:
        return f"{self.url}/kobis"

    @property
    def kmdb_url(self) -> str:
        return f"{self.url}/kmdb"

    def start(self) -> FakeApis:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.release.set()
        self._server.shutdown()
        self._server.server_close()

    def ok_counts(self) -> Counter:
        """How often each request was answered successfully."""
        with self._lock:
            return Counter((api, request) for api, request, outcome in self.log if outcome == "ok")

    def outcomes(self) -> Counter:
        with self._lock:
            return Counter(outcome for _, _, outcome in self.log)

    def kmdb_titles(self) -> set[str]:
        with self._lock:
            return {dict(request)["title"] for api, request, _ in self.log if api == "kmdb"}

    # Called from the handler threads.

    def answer(self, api: str, params: dict[str, str]) -> tuple[str, int, str]:
        """(outcome, HTTP status, body) for one request."""
        request = tuple(sorted((k, v) for k, v in params.items() if k not in ("key", "ServiceKey")))
        with self._lock:
            outcome, status, body = self._decide(api, params)
            self.log.append((api, request, outcome))
        return outcome, status, body

    def _decide(self, api: str, params: dict[str, str]) -> tuple[str, int, str]:
        if api == "kobis" and params.get("key") != KOBIS_KEY:
            return "bad_key", 200, _json({"faultInfo": {"message": "유효하지않은 키값입니다.", "errorCode": "320010"}})
        if api == "kmdb" and params.get("ServiceKey") != KMDB_KEY:
            return "bad_key", 200, _json({"message": "인증되지 않은 서비스키입니다."})
        scripted = self.faults.get((api, params.get("curPage") or params.get("title", "")))
        if scripted:
            fault = scripted.pop(0)
            return fault, {"500": 500, "429": 429}.get(fault, 200), '{"Data": [' if fault == "malformed" else "{}"
        answered = sum(1 for logged_api, _, outcome in self.log if logged_api == api and outcome == "ok")
        if self.quota[api] is not None and answered >= self.quota[api]:
            return "quota", 200, _quota_fault(api)
        if api == "kmdb" and self.hold_kmdb_after is not None and answered >= self.hold_kmdb_after:
            return "held", 0, ""
        return "ok", 200, _json(self._kobis(params) if api == "kobis" else self._kmdb(params))

    def _kobis(self, params: dict[str, str]) -> dict:
        start, end = int(params["prdtStartYear"]), int(params["prdtEndYear"])
        listed = [film for film in self.catalogue.films if start <= film.year <= end]
        size, page = int(params["itemPerPage"]), int(params["curPage"])
        items = [film.kobis_item() for film in listed[(page - 1) * size : page * size]]
        return {"movieListResult": {"totCnt": len(listed), "source": "영화진흥위원회", "movieList": items}}

    def _kmdb(self, params: dict[str, str]) -> dict:
        query = params["title"]
        start, end = int(params.get("createDts") or 0), int(params.get("createDte") or 9999)
        squeezed = query.replace(" ", "")
        hits = [e for e in self.catalogue.kmdb if squeezed in e.title.replace(" ", "") and start <= e.year <= end]
        collection = {"CollName": "kmdb_new2", "TotalCount": len(hits), "Count": len(hits)}
        if hits:
            collection["Result"] = [entry.result(query) for entry in hits]
        # The whole query string, key included, comes back: a collector that stores raw bodies leaks the key.
        echoed = urllib.parse.urlencode(params)
        return {"Query": echoed, "KMAQuery": query, "TotalCount": len(hits), "Data": [collection]}


def _quota_fault(api: str) -> str:
    if api == "kobis":
        return _json({"faultInfo": {"message": "일일 사용량을 초과했습니다.", "errorCode": "320011"}})
    return _json({"message": "일일 트래픽 한도를 초과했습니다."})


def _json(payload: dict) -> str:
    return json.dumps(payload, ensure_ascii=False)


def _handler_for(apis: FakeApis) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urllib.parse.urlsplit(self.path)
            params = dict(urllib.parse.parse_qsl(url.query))
            if url.path == "/kobis/movie/searchMovieList.json":
                outcome, status, body = apis.answer("kobis", params)
            elif url.path == "/kmdb/search_json2.jsp":
                outcome, status, body = apis.answer("kmdb", params)
            else:
                outcome, status, body = "not_found", 404, "{}"
            if outcome == "held":
                apis.held.set()
                apis.release.wait()
                return  # no answer: the client was killed while waiting
            if outcome == "slow":
                time.sleep(apis.slow_s)
            try:
                encoded = body.encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(encoded)))
                self.end_headers()
                self.wfile.write(encoded)
            except OSError:
                pass  # the client gave up waiting (the slow fault)

        def log_message(self, format: str, *args) -> None:
            pass

    return Handler
