/**
 * North American Numbering Plan area codes -> IANA time zones: libphonenumber-js has no
 * geocoder, and a +1 number's country alone spans up to six hours. Written from the NANP
 * assignments by state, province and territory (including overlays in service or announced).
 *
 * An area code that covers parts of several zones lists each of them (for example 850, the
 * Florida panhandle, Eastern and Central): a marketing message is held until its window is
 * open in every zone listed, so it opens at the latest opening and closes at the earliest
 * closing. Codes not listed (non-geographic: toll-free 8xx, 5xx personal services, 600, 710,
 * and codes newer than this table) fall back to every zone of the number's country.
 */

const ET = 'America/New_York'
const CT = 'America/Chicago'
const MT = 'America/Denver'
const PT = 'America/Los_Angeles'
const AZ = 'America/Phoenix'
const BOISE = 'America/Boise'

/**
 * [region, zones, area codes]. The region is the country libphonenumber-js gives those numbers,
 * then the state or province (a test checks the country).
 */
const GROUPS: readonly (readonly [string, readonly string[], string])[] = [
  // United States
  ['US-AL', [CT], '205 251 256 334 659 938'],
  // Adak and the western Aleutians keep Hawaii-Aleutian time.
  ['US-AK', ['America/Anchorage', 'America/Adak'], '907'],
  ['US-AZ', [AZ], '480 520 602 623'],
  // The Navajo Nation (north-east Arizona) keeps daylight saving time.
  ['US-AZ', [AZ, MT], '928'],
  ['US-AR', [CT], '327 479 501 870'],
  [
    'US-CA',
    [PT],
    '209 213 279 310 323 341 350 369 408 415 424 442 510 530 559 562 619 626 628 650 657 661 669 707 714 738 747 760 805 818 820 831 840 858 909 916 925 949 951',
  ],
  ['US-CO', [MT], '303 719 720 970 983'],
  ['US-CT', [ET], '203 475 860 959'],
  ['US-DC', [ET], '202 771'],
  ['US-DE', [ET], '302'],
  [
    'US-FL',
    [ET],
    '239 305 321 324 352 386 407 561 645 656 689 727 728 754 772 786 813 863 904 941 954',
  ],
  // The panhandle west of the Apalachicola river is Central.
  ['US-FL', [ET, CT], '448 850'],
  ['US-GA', [ET], '229 404 470 478 678 706 762 770 912 943'],
  ['US-HI', ['Pacific/Honolulu'], '808'],
  // The panhandle (north of the Salmon river) is Pacific.
  ['US-ID', [BOISE, PT], '208 986'],
  ['US-IL', [CT], '217 224 309 312 331 447 464 618 630 708 730 773 779 815 847 861 872'],
  ['US-IN', ['America/Indiana/Indianapolis'], '260 317 463 765'],
  // North-west (Gary) and south-west (Evansville) counties are Central; Starke County too.
  ['US-IN', [CT, 'America/Indiana/Indianapolis'], '219 574 812 930'],
  ['US-IA', [CT], '319 515 563 641 712'],
  ['US-KS', [CT], '316 913'],
  // Four western counties (Sherman, Wallace, Greeley, Hamilton) are Mountain.
  ['US-KS', [CT, MT], '620 785'],
  ['US-KY', ['America/Kentucky/Louisville'], '502 859'],
  // Western Kentucky is Central but Hardin, Meade and others are Eastern; Wayne, Clinton,
  // Russell and Cumberland (606) are Central.
  ['US-KY', [CT, 'America/Kentucky/Louisville'], '270 364 606'],
  ['US-LA', [CT], '225 318 337 504 985'],
  ['US-ME', [ET], '207'],
  ['US-MD', [ET], '227 240 301 410 443 667'],
  ['US-MA', [ET], '339 351 413 508 617 774 781 857 978'],
  ['US-MI', ['America/Detroit'], '231 248 269 313 517 586 616 679 734 810 947 989'],
  // Four Upper Peninsula counties on the Wisconsin border are Central.
  ['US-MI', ['America/Detroit', 'America/Menominee'], '906'],
  ['US-MN', [CT], '218 320 507 612 651 763 952'],
  ['US-MS', [CT], '228 601 662 769'],
  ['US-MO', [CT], '235 314 417 557 573 636 660 816 975'],
  ['US-MT', [MT], '406'],
  ['US-NE', [CT], '402 531'],
  // The panhandle and south-west are Mountain.
  ['US-NE', [CT, MT], '308'],
  // West Wendover keeps Mountain time.
  ['US-NV', [PT], '702 725'],
  ['US-NV', [PT, MT], '775'],
  ['US-NH', [ET], '603'],
  ['US-NJ', [ET], '201 551 609 640 732 848 856 862 908 973'],
  ['US-NM', [MT], '505 575'],
  [
    'US-NY',
    [ET],
    '212 315 329 332 347 363 516 518 585 607 624 631 646 680 716 718 838 845 914 917 929 934',
  ],
  ['US-NC', [ET], '252 336 472 704 743 828 910 919 980 984'],
  // The south-west is Mountain.
  ['US-ND', [CT, MT], '701'],
  ['US-OH', [ET], '216 220 234 283 326 330 380 419 436 440 513 567 614 740 937'],
  ['US-OK', [CT], '405 539 572 580 918'],
  ['US-OR', [PT], '503 971'],
  // Malheur County is Mountain.
  ['US-OR', [PT, BOISE], '458 541'],
  ['US-PA', [ET], '215 223 267 272 412 445 484 570 582 610 717 724 814 835 878'],
  ['US-RI', [ET], '401'],
  ['US-SC', [ET], '803 821 839 843 854 864'],
  // West river is Mountain.
  ['US-SD', [CT, MT], '605'],
  ['US-TN', [CT], '615 629 731 901'],
  ['US-TN', [ET], '865'],
  // Marion, Bledsoe and others (423) are Central; Cumberland and others (931) are Eastern.
  ['US-TN', [ET, CT], '423 931'],
  [
    'US-TX',
    [CT],
    '210 214 254 281 325 346 361 409 430 469 512 682 713 726 737 806 817 830 832 903 936 940 945 956 972 979',
  ],
  // Culberson County is Mountain.
  ['US-TX', [CT, MT], '432'],
  // El Paso and Hudspeth counties.
  ['US-TX', [MT], '915'],
  ['US-UT', [MT], '385 435 801'],
  ['US-VT', [ET], '802'],
  ['US-VA', [ET], '276 434 540 571 686 703 757 804 826 948'],
  ['US-WA', [PT], '206 253 360 425 509 564'],
  ['US-WV', [ET], '304 681'],
  ['US-WI', [CT], '262 274 353 414 534 608 715 920'],
  ['US-WY', [MT], '307'],
  // US territories
  ['PR', ['America/Puerto_Rico'], '787 939'],
  ['VI', ['America/St_Thomas'], '340'],
  ['GU', ['Pacific/Guam'], '671'],
  ['MP', ['Pacific/Saipan'], '670'],
  ['AS', ['Pacific/Pago_Pago'], '684'],
  // Canada
  ['CA-BC', ['America/Vancouver'], '604'],
  // Province-wide codes: the Kootenays keep Mountain time (Cranbrook, Golden); Creston and the
  // north-east (Dawson Creek, Fort St. John, Fort Nelson) Mountain Standard time all year.
  [
    'CA-BC',
    ['America/Vancouver', 'America/Edmonton', 'America/Creston', 'America/Dawson_Creek'],
    '236 250 257 672 778',
  ],
  ['CA-AB', ['America/Edmonton'], '368 403 587 780 825'],
  // Central Standard time all year; Lloydminster keeps Alberta's time.
  ['CA-SK', ['America/Regina', 'America/Edmonton'], '306 474 639'],
  ['CA-MB', ['America/Winnipeg'], '204 431 584'],
  [
    'CA-ON',
    ['America/Toronto'],
    '226 249 289 343 365 382 416 437 519 548 613 647 683 705 742 753 905 942',
  ],
  // North-western Ontario: Thunder Bay Eastern, Kenora Central, Atikokan Eastern Standard all
  // year.
  ['CA-ON', ['America/Toronto', 'America/Winnipeg', 'America/Atikokan'], '807'],
  ['CA-QC', ['America/Toronto'], '263 354 438 450 468 514 579 819 873'],
  // Eastern Quebec: the Magdalen Islands keep Atlantic time, the Lower North Shore Atlantic
  // Standard time all year.
  ['CA-QC', ['America/Toronto', 'America/Halifax', 'America/Blanc-Sablon'], '367 418 581'],
  ['CA-NB', ['America/Moncton'], '428 506'],
  ['CA-NS/PE', ['America/Halifax'], '782 902'],
  // Newfoundland time on the island and south-eastern Labrador; Atlantic in the rest.
  ['CA-NL', ['America/St_Johns', 'America/Goose_Bay'], '709 879'],
  // Yukon (Mountain Standard all year), Northwest Territories and Nunavut (Mountain, Central,
  // Eastern).
  [
    'CA-YT/NT/NU',
    [
      'America/Whitehorse',
      'America/Edmonton',
      'America/Cambridge_Bay',
      'America/Rankin_Inlet',
      'America/Iqaluit',
    ],
    '867',
  ],
  // The Caribbean and the Atlantic
  ['AG', ['America/Antigua'], '268'],
  ['AI', ['America/Anguilla'], '264'],
  ['BB', ['America/Barbados'], '246'],
  ['BM', ['Atlantic/Bermuda'], '441'],
  ['BS', ['America/Nassau'], '242'],
  ['DM', ['America/Dominica'], '767'],
  ['DO', ['America/Santo_Domingo'], '809 829 849'],
  ['GD', ['America/Grenada'], '473'],
  ['JM', ['America/Jamaica'], '658 876'],
  ['KN', ['America/St_Kitts'], '869'],
  ['KY', ['America/Cayman'], '345'],
  ['LC', ['America/St_Lucia'], '758'],
  ['MS', ['America/Montserrat'], '664'],
  ['SX', ['America/Lower_Princes'], '721'],
  ['TC', ['America/Grand_Turk'], '649'],
  ['TT', ['America/Port_of_Spain'], '868'],
  ['VC', ['America/St_Vincent'], '784'],
  ['VG', ['America/Tortola'], '284'],
]

/** Area code -> the zones it spans. */
export const AREA_CODE_ZONES: ReadonlyMap<string, readonly string[]> = (() => {
  const map = new Map<string, readonly string[]>()
  for (const [region, zones, codes] of GROUPS) {
    for (const code of codes.split(' ')) {
      if (map.has(code)) throw new Error(`area code ${code} (${region}) is listed twice`)
      map.set(code, zones)
    }
  }
  return map
})()

/** The regions and their codes, for tests. */
export const AREA_CODE_GROUPS = GROUPS
