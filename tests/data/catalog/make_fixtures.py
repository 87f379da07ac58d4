# ruff: noqa: E501
"""Write the catalog test fixtures in this directory (run once; the outputs are committed).

Good rows are real rows copied from the Kaggle 160k and TidyTuesday spotify_songs tables
(``../shared/data/catalog``); the bad rows are the same rows with one value broken on
purpose. Line numbers the tests expect are noted next to each row.
"""

from __future__ import annotations

import gzip
from pathlib import Path

HERE = Path(__file__).parent

KAGGLE = """\
valence,year,acousticness,artists,danceability,duration_ms,energy,explicit,id,instrumentalness,key,liveness,loudness,mode,name,popularity,release_date,speechiness,tempo
0.0731,1921,0.993,['Sergei Rachmaninoff'],0.389,218773,0.088,0,02GDntOXexBFUvSgaXLPkd,0.527,1,0.363,-21.091,0,"Morceaux de fantaisie, Op. 3: No. 2, Prélude in C-Sharp Minor. Lento",2,1921,0.0456,92.867
0.282,1921,0.989,"['Sergei Rachmaninoff', 'Ruth Laredo']",0.384,221013,0.171,0,0NFeJgmTAV1kDfzSQNK41Z,0.82,7,0.116,-20.476,0,"10 Préludes, Op. 23: No. 5 in G Minor. Alla marcia",4,1921,0.0319,107.698
0.3,1921,0.772,"[""Scarlet D'Carpio""]",0.56,249370,0.313,0,7b4eHImKQ51DYaQvNTdtEp,4.52e-06,6,0.115,-8.346,0,Himno Nacional del Perú,0,1921-09-23,0.0376,107.501
0.722,2000,0.472,Wu-Tang Clan,0.783,238560,0.797,1,00JErUuTZnBA8eugXCWGuB,0,0,0.378,-5.333,0,Protect Ya Neck (The Jump Off),41,,0.267,104.895
1.7,1921,0.996,['Ignacio Corsini'],0.485,161520,0.13,0,05xDjWH9ub67nJJk82yfGf,0.151,5,0.104,-21.508,0,La Mañanita - Remasterizado,0,1921-03-20,0.0483,64.678
0.771,1921,0.982,['Fortugé'],0.684,196560,loud,0,08zfJvRLp7pjAb94MA9JmF,0,8,0.504,-16.415,1,Il Etait Syndiqué,0,1921,0.399,109.378
0.826,1921,0.995,['Maurice Chevalier'],0.463,147133,0.26,0,,0,9,0.258,-16.894,1,Dans La Vie Faut Pas S'en Faire,0,1921,0.0557,85.146
0.387,2000,0.00237,['Radiohead'],0.486,351693,0.754,0,01UstUPbzPgq2MNp6h0tVo,0.858,2,0.224,-8.552,1,"The National
Anthem",59,2000,0.0378,91.52
0.501,2000,0.0541,['The Avalanches'],0.595,261960,0.979,0,027CQkZSId1SGW3h7xeOTC,5.86e-05,1,0.323,-5.946,0,Radio
0.0731,1921,0.993,['Sergei Rachmaninoff'],0.389,218773,0.088,0,02GDntOXexBFUvSgaXLPkd,0.527,1,0.363,-21.091,0,Duplicate,2,1921,0.0456,92.867
0.505,2000,0.00238,"['Green Day",0.529,215293,0.93,0,02COSjkOwyoMNW30Tge9Gu,0,7,0.0995,-4.904,1,Deadbeat Holiday,42,2000,0.0594,82.42
0.505,2000,0.00238,['Green Day'],0.529,215293,0.93,0,02COSjkOwyoMNW30Tge9Gu,0,7,0.0995,-4.904,1,Deadbeat Holiday,42,2000,0.0594,82.42
"""
# good: lines 2, 3, 4, 5, 9-10 (a name spanning two lines), 14  -> 6 tracks
# bad:  6 valence 1.7, 7 energy 'loud', 8 missing id, 11 too few fields,
#       12 repeats the id of line 2, 13 artists not a list

TIDY_HEADER = (
    "track_id,track_name,track_artist,track_popularity,track_album_id,track_album_name,"
    "track_album_release_date,playlist_name,playlist_id,playlist_genre,playlist_subgenre,"
    "danceability,energy,key,loudness,mode,speechiness,acousticness,instrumentalness,"
    "liveness,valence,tempo,duration_ms\n"
)
CLOSER = (
    "7BKLCZ1jbUBVqRi2FVlTVw,Closer (feat. Halsey),The Chainsmokers,85,0rSLgV8p5FzfnqlEk4GzxE,"
    "Closer (feat. Halsey),2016-07-29,{pl},{pid},{g},{sg},0.748,0.524,8,-5.599,1,0.0338,0.414,0,"
    "0.111,0.661,95.01,244960\n"
)
TIDY = (
    TIDY_HEADER
    + CLOSER.format(pl="Pop Hits", pid="p1", g="pop", sg="post-teen pop")  # 2
    + CLOSER.format(pl="Tropical", pid="p2", g="latin", sg="tropical")  # 3
    + CLOSER.format(pl="Dance Pop", pid="p3", g="pop", sg="dance pop")  # 4
    + CLOSER.format(pl="Dance Rock", pid="p4", g="rock", sg="dance pop")  # 5
    # 6
    + "3eekarcy7kvN4yt5ZFzltW,HIGHEST IN THE ROOM,Travis Scott,94,2uDTi1PlpSpvAv7IRAoAEU,"
    "HIGHEST IN THE ROOM,2019-10-04,Trap,p5,rap,trap,0.598,0.427,7,-8.764,0,0.0317,0.0546,"
    "5.83e-06,0.21,0.0605,76.469,175721\n"
    # 7
     + "1Ibc5RR1a2AzgkfvSJnZsX,MILK,[ALEXANDROS],28,1PurRP5uIcxByUz3VhjhPN,Sleepless in Brooklyn,"
    "2018-11-21,J-Rock,p6,rock,permanent wave,0.611,0.847,8,-3.057,1,0.088,0.00194,0.00553,"
    "0.198,0.637,103.963,130987\n"
    # 8
     + '0qtK3XwbuG153dmwB8iepL,Glitter,"Tyler, The Creator",70,2nkto6YNI4rUYTLqEwWJ3o,Flower Boy,'
    "2017-07-21,Hip Hop,p7,rap,hip hop,0.449,0.434,1,-11.777,1,0.243,0.306,2.76e-06,0.633,"
    "0.371,78.57,224893\n"
    # 9 bad: danceability 1.3
     + "0017A6SJgTbfQVU2EtsPNo,Pangarap,Barbie's Cradle,41,1srJQ0njEQgd8w4XSqI4JQ,Trip,2001-01-01,"
    "Classic,p8,rock,classic rock,1.3,0.401,2,-10.068,1,0.0236,0.279,0.0117,0.0887,0.566,"
    "97.091,235440\n"
    # 10 bad: key C#
     + "0017A6SJgTbfQVU2EtsPNo,Pangarap,Barbie's Cradle,41,1srJQ0njEQgd8w4XSqI4JQ,Trip,2001-01-01,"
    "Classic,p8,rock,classic rock,0.682,0.401,C#,-10.068,1,0.0236,0.279,0.0117,0.0887,0.566,"
    "97.091,235440\n"
    # 11 bad: no track_id
     + ",Pangarap,Barbie's Cradle,41,1srJQ0njEQgd8w4XSqI4JQ,Trip,2001-01-01,"
    "Classic,p8,rock,classic rock,0.682,0.401,2,-10.068,1,0.0236,0.279,0.0117,0.0887,0.566,"
    "97.091,235440\n"
    # 12
     + "002xjHwzEx66OWFV2IP9dk,The Others,RIKA,15,1ficfUnZMaY1QkNp15Slzm,The Others,2018-01-26,"
    "Neo Soul,p9,r&b,neo soul,0.582,0.704,5,-6.242,1,0.0347,0.0651,0,0.212,0.698,150.863,"
    "197286\n"
)
# good: 5 tracks (Closer merged from lines 2-5: genre pop 2 of 4, subgenre dance pop 2 of 4)
# bad: 9, 10, 11

TIDY_TRACKS = """\
track_id,track_name,track_artist,track_popularity,track_album_id,track_album_name,track_album_release_date,danceability,energy,key,loudness,mode,speechiness,acousticness,instrumentalness,liveness,valence,tempo,duration_ms
0017A6SJgTbfQVU2EtsPNo,Pangarap,Barbie's Cradle,41,1srJQ0njEQgd8w4XSqI4JQ,Trip,2001-01-01,0.682,0.401,2,-10.068,1,0.0236,0.279,0.0117,0.0887,0.566,97.091,235440
002xjHwzEx66OWFV2IP9dk,The Others,RIKA,15,1ficfUnZMaY1QkNp15Slzm,The Others,2018-01-26,0.582,0.704,5,-6.242,1,0.0347,0.0651,0,0.212,0.698,150.863,197286
004s3t0ONYlzxII9PLgU6z,I Feel Alive,Steady Rollin,28,3z04Lb9Dsilqw68SHt6jLB,Love & Loss,2017-11-21,0.303,0.88,9,20.5,1,0.0442,0.0117,0.00994,0.347,0.404,135.225,373512
3eekarcy7kvN4yt5ZFzltW,HIGHEST IN THE ROOM,Travis Scott,94,2uDTi1PlpSpvAv7IRAoAEU,HIGHEST IN THE ROOM,2019,0.598,0.427,7,-8.764,0,0.0317,0.0546,5.83e-06,0.21,0.0605,76.469,175721
"""
# good: 2, 3, 5; bad: 4 loudness 20.5

GENERIC = """\
id,name,artists,album,genre,year,valence,energy,danceability,tempo,mode,explicit,popularity,local_path,comment
local-rain,Rainy Day,Alice; Bob,,ambient,2020,0.2,0.3,0.4,80,0,false,,/music/rainy.ogg,my note
3eekarcy7kvN4yt5ZFzltW,HIGHEST IN THE ROOM,"[""Travis Scott""]",HIGHEST IN THE ROOM,rap,2019,0.0605,0.427,0.598,76.469,0,true,94,,
local-bad-year,Broken,Carol,,ambient,abc,0.5,0.5,0.5,100,1,0,,,
local-bad-explicit,Broken,Carol,,ambient,2020,0.5,0.5,0.5,100,1,maybe,,,
local-minimal,,,,,,,,,,,,,,
local-tempo,Fast,Dan,,,,0.5,0.5,0.5,350,1,0,,,
"""
# good: 2, 3, 6; bad: 4 year, 5 explicit, 7 tempo 350


def main() -> None:
    (HERE / "kaggle_data.csv").write_text(KAGGLE, encoding="utf-8")
    good_kaggle = "".join(
        line for i, line in enumerate(KAGGLE.splitlines(keepends=True), 1) if i in (1, 2, 3, 4, 5)
    )
    with gzip.GzipFile(HERE / "kaggle_good.csv.gz", "wb", mtime=0) as f:
        f.write(good_kaggle.encode("utf-8"))
    data = (HERE / "kaggle_good.csv.gz").read_bytes()
    (HERE / "bad_truncated.csv.gz").write_bytes(data[: len(data) // 2])
    (HERE / "tidytuesday_spotify_songs.csv").write_text(TIDY, encoding="utf-8")
    (HERE / "tidytuesday_tracks.csv").write_text(TIDY_TRACKS, encoding="utf-8")
    (HERE / "generic.csv").write_text(GENERIC, encoding="utf-8")
    # Bad files: nothing of these may reach the catalog.
    (HERE / "bad_empty.csv").write_bytes(b"")
    (HERE / "bad_blank_lines.csv").write_bytes(b"\n\n  \n")
    (HERE / "bad_header_only.csv").write_text("id,name,artists\n", encoding="utf-8")
    good_rows = "".join(f"ok-{i},Song {i},Artist {i}\n" for i in range(40))
    (HERE / "bad_not_utf8.csv").write_bytes(
        b"id,name,artists\n" + good_rows.encode() + "late,Caf\u00e9,Z\n".encode("latin-1")
    )
    (HERE / "bad_nul.csv").write_bytes(b"id,name,artists\nx1,Song,A\nx2,So\x00ng,B\n")
    (HERE / "bad_unknown_header.csv").write_text("title,artist,bpm\nSong,A,120\n")
    (HERE / "bad_generic_missing_artists.csv").write_text("id,name,valence\nx1,Song,0.5\n")
    (HERE / "bad_duplicate_header.csv").write_text("id,name,artists,name\nx1,Song,A,B\n")
    (HERE / "bad_not_csv.json").write_text('{"tracks": [{"id": "x1", "name": "Song"}]}\n')
    (HERE / "bad_binary.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)


if __name__ == "__main__":
    main()
